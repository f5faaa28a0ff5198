//! Frame header (§2): version, flags, stream, opcode, body length, and reading whole frames
//! from a socket. Version negotiation lives here because it is decided on the header alone.

use bytes::{BufMut, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt};

pub const HEADER_LEN: usize = 9;
/// Cassandra's default `native_transport_max_frame_size` is 16 MB, but the spec's hard cap
/// is 256 MB; refuse above the spec cap (the brief's rule) so a bogus length cannot make us
/// allocate unboundedly.
pub const MAX_BODY_LEN: u32 = 256 * 1024 * 1024;
/// The only version this node speaks.
pub const VERSION: u8 = 4;
pub const RESPONSE_BIT: u8 = 0x80;

/// Opcodes of §2.4.
pub mod opcode {
    pub const ERROR: u8 = 0x00;
    pub const STARTUP: u8 = 0x01;
    pub const READY: u8 = 0x02;
    pub const AUTHENTICATE: u8 = 0x03;
    pub const OPTIONS: u8 = 0x05;
    pub const SUPPORTED: u8 = 0x06;
    pub const QUERY: u8 = 0x07;
    pub const RESULT: u8 = 0x08;
    pub const PREPARE: u8 = 0x09;
    pub const EXECUTE: u8 = 0x0A;
    pub const REGISTER: u8 = 0x0B;
    pub const EVENT: u8 = 0x0C;
    pub const BATCH: u8 = 0x0D;
    pub const AUTH_CHALLENGE: u8 = 0x0E;
    pub const AUTH_RESPONSE: u8 = 0x0F;
    pub const AUTH_SUCCESS: u8 = 0x10;
}

/// Header flags of §2.2.
pub mod flag {
    pub const COMPRESSION: u8 = 0x01;
    pub const TRACING: u8 = 0x02;
    pub const CUSTOM_PAYLOAD: u8 = 0x04;
    pub const WARNING: u8 = 0x08;
    pub const USE_BETA: u8 = 0x10;
}

/// What the versions line of SUPPORTED and of the version error says, in Cassandra's format.
pub const SUPPORTED_VERSIONS: &[&str] = &["4/v4"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub version: u8,
    pub flags: u8,
    pub stream: i16,
    pub opcode: u8,
    pub length: u32,
}

/// Why a header cannot start a request. Each is answered with a ProtocolError, then the
/// connection is closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderError {
    /// Answered with `reply_version` (and its header layout) so the client can parse it:
    /// Cassandra replies to an old version in that version, to a newer one in its highest.
    UnsupportedVersion { requested: u8, reply_version: u8, stream: i16 },
    Malformed { stream: i16, message: String },
}

impl HeaderError {
    pub fn message(&self) -> String {
        match self {
            HeaderError::UnsupportedVersion { requested, .. } => format!(
                "Invalid or unsupported protocol version ({requested}); supported versions are ({})",
                SUPPORTED_VERSIONS.join(", ")
            ),
            HeaderError::Malformed { message, .. } => message.clone(),
        }
    }
}

/// Decodes a 9-byte v3+ header, or reports why the frame is refused. `raw` holds at least
/// the bytes of a v1/v2 header (8) when the version is old, else 9.
pub fn parse_header(raw: &[u8; HEADER_LEN]) -> Result<Header, HeaderError> {
    let version_byte = raw[0];
    let version = version_byte & 0x7f;
    if version != VERSION {
        // v1/v2 headers carry a one-byte stream; v3+ a two-byte one.
        let stream = if version <= 2 { raw[2] as i8 as i16 } else { i16::from_be_bytes([raw[2], raw[3]]) };
        let reply_version = if (1..VERSION).contains(&version) { version } else { VERSION };
        return Err(HeaderError::UnsupportedVersion { requested: version, reply_version, stream });
    }
    let stream = i16::from_be_bytes([raw[2], raw[3]]);
    if version_byte & RESPONSE_BIT != 0 {
        return Err(HeaderError::Malformed {
            stream,
            message: "Wrong protocol direction (expected REQUEST, got RESPONSE)".into(),
        });
    }
    let header = Header {
        version,
        flags: raw[1],
        stream,
        opcode: raw[4],
        length: u32::from_be_bytes([raw[5], raw[6], raw[7], raw[8]]),
    };
    if header.length > MAX_BODY_LEN {
        return Err(HeaderError::Malformed {
            stream,
            message: format!("Request is too big: length {} exceeds maximum allowed length {MAX_BODY_LEN}.", header.length),
        });
    }
    if header.flags & flag::COMPRESSION != 0 {
        // We never agree to compression at STARTUP, so a compressed body cannot be read.
        return Err(HeaderError::Malformed {
            stream,
            message: "Received frame with compression flag set, but no compressor was negotiated".into(),
        });
    }
    Ok(header)
}

/// The outcome of reading one frame off the wire.
pub enum ReadFrame {
    Frame(Header, Bytes),
    /// The peer closed the connection cleanly between frames.
    Closed,
    Refused(HeaderError),
    /// The peer closed mid-frame (a header announced more body than arrived).
    Truncated { stream: i16 },
}

/// Reads one whole frame. I/O errors other than EOF are returned as such.
pub async fn read_frame<R: AsyncRead + Unpin>(reader: &mut R) -> std::io::Result<ReadFrame> {
    let mut raw = [0u8; HEADER_LEN];
    // The first byte tells whether anything arrived at all (clean close) or not.
    if reader.read(&mut raw[..1]).await? == 0 {
        return Ok(ReadFrame::Closed);
    }
    let old_version = (raw[0] & 0x7f) <= 2;
    // Old (v1/v2) headers are 8 bytes; reading a 9th could wait for a byte that never comes.
    let needed = if old_version { HEADER_LEN - 1 } else { HEADER_LEN };
    if let Err(e) = reader.read_exact(&mut raw[1..needed]).await {
        return if e.kind() == std::io::ErrorKind::UnexpectedEof { Ok(ReadFrame::Truncated { stream: 0 }) } else { Err(e) };
    }
    let header = match parse_header(&raw) {
        Ok(h) => h,
        Err(e) => return Ok(ReadFrame::Refused(e)),
    };
    let mut body = BytesMut::zeroed(header.length as usize);
    if let Err(e) = reader.read_exact(&mut body).await {
        return if e.kind() == std::io::ErrorKind::UnexpectedEof {
            Ok(ReadFrame::Truncated { stream: header.stream })
        } else {
            Err(e)
        };
    }
    Ok(ReadFrame::Frame(header, body.freeze()))
}

/// Writes a response header (§2) for `version` in front of a body written by `body`.
/// v1/v2 layouts are only used to refuse those versions in a form their clients can read.
pub fn encode_frame(out: &mut BytesMut, version: u8, flags: u8, stream: i16, opcode: u8, body: impl FnOnce(&mut BytesMut)) {
    out.put_u8(version | RESPONSE_BIT);
    out.put_u8(flags);
    if version <= 2 {
        out.put_i8(stream as i8);
    } else {
        out.put_i16(stream);
    }
    out.put_u8(opcode);
    let len_at = out.len();
    out.put_u32(0);
    let start = out.len();
    body(out);
    let len = (out.len() - start) as u32;
    out[len_at..len_at + 4].copy_from_slice(&len.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(bytes: [u8; 9]) -> Result<Header, HeaderError> {
        parse_header(&bytes)
    }

    #[test]
    fn v4_request_header_decodes() {
        let h = header([0x04, 0x00, 0x01, 0x02, opcode::QUERY, 0, 0, 0, 7]).unwrap();
        assert_eq!(h, Header { version: 4, flags: 0, stream: 0x0102, opcode: opcode::QUERY, length: 7 });
    }

    #[test]
    fn v5_is_refused_with_v4_reply_and_cassandra_wording() {
        let err = header([0x05, 0x00, 0x00, 0x07, opcode::OPTIONS, 0, 0, 0, 0]).unwrap_err();
        assert_eq!(err, HeaderError::UnsupportedVersion { requested: 5, reply_version: 4, stream: 7 });
        assert_eq!(err.message(), "Invalid or unsupported protocol version (5); supported versions are (4/v4)");
    }

    #[test]
    fn old_versions_are_refused_in_their_own_version() {
        let err = header([0x02, 0x00, 0x05, opcode::STARTUP, 0, 0, 0, 0, 0]).unwrap_err();
        assert_eq!(err, HeaderError::UnsupportedVersion { requested: 2, reply_version: 2, stream: 5 });
        let err = header([0x03, 0x00, 0x00, 0x09, opcode::STARTUP, 0, 0, 0, 0]).unwrap_err();
        assert_eq!(err, HeaderError::UnsupportedVersion { requested: 3, reply_version: 3, stream: 9 });
    }

    #[test]
    fn oversized_compressed_and_response_frames_are_malformed() {
        assert!(matches!(header([0x04, 0, 0, 1, opcode::QUERY, 0x10, 0, 0, 1]), Err(HeaderError::Malformed { stream: 1, .. })));
        assert!(matches!(header([0x04, flag::COMPRESSION, 0, 1, opcode::QUERY, 0, 0, 0, 1]), Err(HeaderError::Malformed { .. })));
        assert!(matches!(header([0x84, 0, 0, 1, opcode::QUERY, 0, 0, 0, 1]), Err(HeaderError::Malformed { .. })));
    }

    #[test]
    fn encode_patches_the_length() {
        let mut out = BytesMut::new();
        encode_frame(&mut out, 4, 0, -1, opcode::EVENT, |b| b.put_slice(b"abc"));
        assert_eq!(&out[..], &[0x84, 0, 0xff, 0xff, opcode::EVENT, 0, 0, 0, 3, b'a', b'b', b'c']);
    }

    #[tokio::test]
    async fn truncated_body_is_reported() {
        let bytes: &[u8] = &[0x04, 0, 0, 3, opcode::QUERY, 0, 0, 0, 10, 1, 2];
        let mut r = bytes;
        assert!(matches!(read_frame(&mut r).await.unwrap(), ReadFrame::Truncated { stream: 3 }));
    }
}
