//! The two Lua scripts, each one round trip, atomic on the server.
//!
//! A missing version (a Redis restarted empty, or the key evicted) is replaced by one made
//! from the server's clock in microseconds: larger than any version used before it, so pages
//! cached under an older one are never read again (a plain INCR from nothing would reuse 1).
//! It is built as a string: Lua's numbers are doubles, which print 16 digits in exponent form.

/// KEYS[1] = version key, ARGV[1] = page key prefix, ARGV[2] = page digest.
/// Returns `{version, page or false}`.
pub const READ: &str = r#"
local v = redis.call('GET', KEYS[1])
if not v then
  local t = redis.call('TIME')
  v = t[1] .. string.rep('0', 6 - #t[2]) .. t[2]
  redis.call('SET', KEYS[1], v)
end
return {v, redis.call('GET', ARGV[1] .. v .. ':' .. ARGV[2])}
"#;

/// KEYS[1] = version key. Returns the new version.
pub const BUMP: &str = r#"
if redis.call('EXISTS', KEYS[1]) == 1 then
  return redis.call('INCR', KEYS[1])
end
local t = redis.call('TIME')
local v = t[1] .. string.rep('0', 6 - #t[2]) .. t[2]
redis.call('SET', KEYS[1], v)
return tonumber(v)
"#;
