//! A real Redis for the cache's tests: Debian's `redis-server`, one per test, on a free
//! 127.0.0.1 port, without persistence; stopped (as a crash would) and restarted on the same
//! port by the test. `.ci/run` installs it.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct RedisServer {
    port: u16,
    child: Option<Child>,
}

impl RedisServer {
    pub fn start() -> RedisServer {
        // A port the OS just gave out and took back: free unless something grabs it first.
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
        let mut server = RedisServer { port, child: None };
        server.restart();
        server
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// SIGKILL: Redis gone at once, its connections reset.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it (again, empty) on the same port and waits until it answers PING.
    pub fn restart(&mut self) {
        self.stop();
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("redis-server (Debian: apt-get install redis-server; .ci/run installs it)");
        self.child = Some(child);
        for _ in 0..500 {
            if self.command(&["PING"]).is_ok_and(|r| r.starts_with("+PONG")) {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("redis-server did not answer on port {} within 5 s", self.port);
    }

    /// One command through `redis-cli`, its raw reply (RESP type prefix kept for errors).
    pub fn command(&self, args: &[&str]) -> Result<String, String> {
        let out = Command::new("redis-cli")
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(args)
            .output()
            .map_err(|e| format!("redis-cli: {e}"))?;
        let text = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        if out.status.success() && !text.starts_with("Could not connect") {
            Ok(if text == "PONG" { "+PONG".to_owned() } else { text })
        } else {
            Err(text)
        }
    }

    /// How many keys it holds.
    pub fn keys(&self) -> usize {
        self.command(&["DBSIZE"]).ok().and_then(|n| n.parse().ok()).unwrap_or(0)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}
