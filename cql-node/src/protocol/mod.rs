//! The CQL native protocol v4 (native_protocol_v4.spec): frames, the §3 notation types,
//! request decoding and response encoding. No I/O policy here beyond reading one frame;
//! `crate::server` drives connections.

pub mod frame;
pub mod request;
pub mod response;
pub mod wire;
