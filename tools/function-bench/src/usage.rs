//! What a process has used, from its own accounting in /proc: CPU time summed over its
//! threads from `/proc/PID/task/*/schedstat` (nanoseconds; `/proc/PID/stat`'s utime+stime
//! count 10 ms ticks, too coarse for a 5 ms init), peak RSS (`VmHWM`), and its open sockets.

use std::time::Duration;

#[derive(Debug, Clone, Copy)]
pub struct Cpu {
    pub time: Duration,
    /// Threads alive when read: a thread that exited between two readings takes its CPU
    /// time out of the sum, so the bench refuses readings where this went down.
    pub threads: usize,
}

pub fn cpu(pid: u32) -> std::io::Result<Cpu> {
    let mut total = 0u64;
    let mut threads = 0;
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))? {
        let path = task?.path().join("schedstat");
        // A thread may exit while we walk the directory.
        let Ok(text) = std::fs::read_to_string(path) else { continue };
        let on_cpu: u64 = text.split_whitespace().next().and_then(|n| n.parse().ok()).unwrap_or(0);
        total += on_cpu;
        threads += 1;
    }
    Ok(Cpu { time: Duration::from_nanos(total), threads })
}

/// Peak resident set size, in kB.
pub fn peak_rss_kb(pid: u32) -> std::io::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| std::io::Error::other("no VmHWM in /proc/PID/status"))
}

/// Open sockets (TCP connections to the database and to the Runtime API, listeners).
pub fn sockets(pid: u32) -> std::io::Result<usize> {
    let mut n = 0;
    for fd in std::fs::read_dir(format!("/proc/{pid}/fd"))? {
        if let Ok(target) = std::fs::read_link(fd?.path())
            && target.to_string_lossy().starts_with("socket:")
        {
            n += 1;
        }
    }
    Ok(n)
}
