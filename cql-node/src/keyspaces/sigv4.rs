//! Server side of the SigV4 SASL exchange Amazon Keyspaces performs with AWS's client plugins
//! (Java `software.aws.mcs.auth.SigV4AuthProvider`, Python `cassandra_sigv4`, gocql `sigv4`):
//!
//! 1. client initial response `SigV4\0\0`;
//! 2. server challenge `nonce=<32 hex chars>`;
//! 3. client answer `signature=<hex>,access_key=<id>,amzdate=<ISO-8601 ms Z>[,session_token=<t>]`.
//!
//! The signature is AWS SigV4 over a fixed pseudo HTTP request: `PUT /authenticate`, a query
//! string with X-Amz-Algorithm, X-Amz-Credential (raw key id, URL-encoded scope), X-Amz-Date
//! (URL-encoded amzdate) and X-Amz-Expires=900, the single signed header `host:cassandra`, and
//! the SHA-256 of the nonce as payload hash; scope `<yyyymmdd>/<region>/cassandra/aws4_request`.
//! We rebuild exactly that request and recompute the HMAC with the configured secret.

use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

type HmacSha256 = Hmac<Sha256>;

/// What the client sends first to ask for SigV4 rather than PLAIN.
pub const SIGV4_INITIAL_RESPONSE: &[u8] = b"SigV4\0\0";
const SERVICE: &str = "cassandra";
const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// The plugins sign with X-Amz-Expires=900: a signature is good for 15 minutes, so we accept
/// amzdates up to 15 minutes away from our clock in either direction (AWS's own SigV4 skew).
pub const DEFAULT_MAX_SKEW: Duration = Duration::from_secs(15 * 60);

/// One set of test credentials the node accepts. With `session_token` set, they stand for
/// temporary (STS) credentials: the client must present that exact token.
#[derive(Clone, PartialEq, Eq)]
pub struct AwsCredential {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

impl std::fmt::Debug for AwsCredential {
    // The key id only: secrets and tokens never reach a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsCredential")
            .field("access_key_id", &self.access_key_id)
            .field("temporary", &self.session_token.is_some())
            .finish_non_exhaustive()
    }
}

impl AwsCredential {
    pub fn new(access_key_id: impl Into<String>, secret_access_key: impl Into<String>) -> Self {
        Self { access_key_id: access_key_id.into(), secret_access_key: secret_access_key.into(), session_token: None }
    }
    pub fn with_session_token(mut self, token: impl Into<String>) -> Self {
        self.session_token = Some(token.into());
        self
    }
}

/// Why a signed answer was refused. The text goes to the client in an AuthenticationError.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigV4Error {
    #[error("Authentication failed: malformed SigV4 response ({0})")]
    Malformed(&'static str),
    #[error("Authentication failed: the security token included in the request is invalid (unknown access key)")]
    UnknownAccessKey,
    #[error("Authentication failed: the request signature we calculated does not match the signature you provided")]
    SignatureMismatch,
    #[error("Authentication failed: signature expired (amzdate is outside the allowed {0} seconds clock skew)")]
    Expired(u64),
    #[error("Authentication failed: a session token is required for temporary credentials")]
    MissingSessionToken,
    #[error("Authentication failed: the security token included in the request is invalid")]
    InvalidSessionToken,
}

/// The fields of the client's signed answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedResponse<'a> {
    pub signature: &'a str,
    pub access_key: &'a str,
    pub amzdate: &'a str,
    pub session_token: Option<&'a str>,
}

impl<'a> SignedResponse<'a> {
    /// Parses `signature=..,access_key=..,amzdate=..[,session_token=..]` (any order; session
    /// tokens are base64 and never hold commas).
    pub fn parse(text: &'a str) -> Result<Self, SigV4Error> {
        let (mut signature, mut access_key, mut amzdate, mut session_token) = (None, None, None, None);
        for part in text.split(',') {
            let (key, value) = part.split_once('=').ok_or(SigV4Error::Malformed("expected key=value pairs"))?;
            match key.trim() {
                "signature" => signature = Some(value),
                "access_key" => access_key = Some(value),
                "amzdate" => amzdate = Some(value),
                "session_token" => session_token = Some(value),
                _ => return Err(SigV4Error::Malformed("unexpected field")),
            }
        }
        Ok(Self {
            signature: signature.ok_or(SigV4Error::Malformed("missing signature"))?,
            access_key: access_key.ok_or(SigV4Error::Malformed("missing access_key"))?,
            amzdate: amzdate.ok_or(SigV4Error::Malformed("missing amzdate"))?,
            session_token: session_token.filter(|t| !t.is_empty()),
        })
    }
}

/// Reads the nonce out of a challenge as the plugins do: after `nonce=`, up to a comma or the end.
pub fn extract_nonce(challenge: &[u8]) -> Option<&[u8]> {
    let start = challenge.windows(6).position(|w| w == b"nonce=")? + 6;
    let rest = &challenge[start..];
    let end = rest.iter().position(|&b| b == b',').unwrap_or(rest.len());
    Some(&rest[..end])
}

/// A fresh server challenge: `nonce=` followed by 32 lowercase hex characters (the length the
/// Java and Python plugins insist on).
pub fn new_challenge() -> (String, Vec<u8>) {
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    let challenge = format!("nonce={nonce}").into_bytes();
    (nonce, challenge)
}

/// Verifies a signed answer to `nonce` against `credentials` for `region` at time `now`.
/// Returns the accepted credential's access key id.
pub fn verify(
    credentials: &[AwsCredential],
    region: &str,
    max_skew: Duration,
    nonce: &[u8],
    answer: &[u8],
    now: OffsetDateTime,
) -> Result<String, SigV4Error> {
    let text = std::str::from_utf8(answer).map_err(|_| SigV4Error::Malformed("not UTF-8"))?;
    let response = SignedResponse::parse(text)?;
    let credential = credentials
        .iter()
        .find(|c| c.access_key_id == response.access_key)
        .ok_or(SigV4Error::UnknownAccessKey)?;
    let signed_at = OffsetDateTime::parse(response.amzdate, &Rfc3339).map_err(|_| SigV4Error::Malformed("amzdate"))?;
    let skew = (now - signed_at).unsigned_abs();
    if skew > max_skew {
        return Err(SigV4Error::Expired(max_skew.as_secs()));
    }
    let claimed = hex::decode(response.signature).map_err(|_| SigV4Error::Malformed("signature is not hex"))?;
    let date_stamp = date_stamp(signed_at);
    let string_to_sign = string_to_sign(&credential.access_key_id, region, response.amzdate, &date_stamp, nonce);
    let mut mac = signing_mac(&credential.secret_access_key, &date_stamp, region);
    mac.update(string_to_sign.as_bytes());
    // Constant-time comparison, so timing says nothing about how much of a guess was right.
    mac.verify_slice(&claimed).map_err(|_| SigV4Error::SignatureMismatch)?;
    match (&credential.session_token, response.session_token) {
        (None, None) => {}
        (Some(_), None) => return Err(SigV4Error::MissingSessionToken),
        (Some(expected), Some(given)) if expected == given => {}
        _ => return Err(SigV4Error::InvalidSessionToken),
    }
    Ok(credential.access_key_id.clone())
}

/// Client side, for tests and tools: the answer a plugin sends for `nonce`, signed at `at`.
pub fn sign_response(credential: &AwsCredential, region: &str, nonce: &[u8], at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    let amzdate = format_amzdate(at);
    let date_stamp = date_stamp(at);
    let string_to_sign = string_to_sign(&credential.access_key_id, region, &amzdate, &date_stamp, nonce);
    let mut mac = signing_mac(&credential.secret_access_key, &date_stamp, region);
    mac.update(string_to_sign.as_bytes());
    let signature = hex::encode(mac.finalize().into_bytes());
    let mut answer = format!("signature={signature},access_key={},amzdate={amzdate}", credential.access_key_id);
    if let Some(token) = &credential.session_token {
        answer.push_str(",session_token=");
        answer.push_str(token);
    }
    answer
}

/// `2020-06-09T22:41:51.000Z`: UTC, milliseconds, as `Instant.toString` with 3 digits prints it.
pub fn format_amzdate(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.millisecond()
    )
}

fn date_stamp(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!("{:04}{:02}{:02}", at.year(), u8::from(at.month()), at.day())
}

pub(crate) fn canonical_request(access_key: &str, scope: &str, amzdate: &str, nonce: &[u8]) -> String {
    // Already in the sorted order SigV4 requires for query parameters.
    let query = format!(
        "X-Amz-Algorithm={ALGORITHM}&X-Amz-Credential={access_key}%2F{}&X-Amz-Date={}&X-Amz-Expires=900",
        form_urlencode(scope),
        form_urlencode(amzdate)
    );
    let payload_hash = hex::encode(Sha256::digest(nonce));
    format!("PUT\n/authenticate\n{query}\nhost:{SERVICE}\n\nhost\n{payload_hash}")
}

fn string_to_sign(access_key: &str, region: &str, amzdate: &str, date_stamp: &str, nonce: &[u8]) -> String {
    let scope = format!("{date_stamp}/{region}/{SERVICE}/aws4_request");
    let canonical = canonical_request(access_key, &scope, amzdate, nonce);
    format!("{ALGORITHM}\n{amzdate}\n{scope}\n{}", hex::encode(Sha256::digest(canonical.as_bytes())))
}

/// A MAC keyed with the SigV4 signing key (secret → date → region → service → aws4_request).
fn signing_mac(secret: &str, date_stamp: &str, region: &str) -> HmacSha256 {
    let mut key = hmac(format!("AWS4{secret}").as_bytes(), date_stamp.as_bytes());
    for part in [region, SERVICE, "aws4_request"] {
        key = hmac(&key, part.as_bytes());
    }
    // HMAC takes keys of any length, so this cannot fail.
    HmacSha256::new_from_slice(&key).expect("HMAC accepts any key length")
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// application/x-www-form-urlencoded as Java's URLEncoder / Python's quote_plus do it for
/// the characters a scope or timestamp can hold.
fn form_urlencode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => out.push(b as char),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    // The published vector shared by AWS's Python and Go plugins' unit tests.
    const NONCE: &[u8] = b"91703fdc2ef562e19fbdab0f58e42fe5";
    const REGION: &str = "us-west-2";
    const EXPECTED_SIGNATURE: &str = "7f3691c18a81b8ce7457699effbfae5b09b4e0714ab38c1292dbdf082c9ddd87";

    fn user() -> AwsCredential {
        AwsCredential::new("UserID-1", "UserSecretKey-1")
    }

    #[test]
    fn canonical_request_matches_the_plugins() {
        let got = canonical_request("UserID-1", "20200609/us-west-2/cassandra/aws4_request", "2020-06-09T22:41:51.000Z", NONCE);
        let want = "PUT\n/authenticate\nX-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=UserID-1%2F20200609%2Fus-west-2%2Fcassandra%2Faws4_request&X-Amz-Date=2020-06-09T22%3A41%3A51.000Z&X-Amz-Expires=900\nhost:cassandra\n\nhost\nddf250111597b3f35e51e649f59e3f8b30ff5b247166d709dc1b1e60bd927070";
        assert_eq!(got, want);
    }

    #[test]
    fn signing_matches_the_published_vector() {
        let answer = sign_response(&user(), REGION, NONCE, datetime!(2020-06-09 22:41:51 UTC));
        assert_eq!(
            answer,
            format!("signature={EXPECTED_SIGNATURE},access_key=UserID-1,amzdate=2020-06-09T22:41:51.000Z")
        );
    }

    #[test]
    fn verifier_accepts_the_published_vector() {
        let answer = format!("signature={EXPECTED_SIGNATURE},access_key=UserID-1,amzdate=2020-06-09T22:41:51.000Z");
        let now = datetime!(2020-06-09 22:50:00 UTC);
        assert_eq!(verify(&[user()], REGION, DEFAULT_MAX_SKEW, NONCE, answer.as_bytes(), now), Ok("UserID-1".into()));
    }

    #[test]
    fn refusals() {
        let now = OffsetDateTime::now_utc();
        let creds = [user(), AwsCredential::new("ASIATEMP", "tempsecret").with_session_token("tok-1")];
        let check = |answer: String| verify(&creds, REGION, DEFAULT_MAX_SKEW, NONCE, answer.as_bytes(), now);

        let wrong_secret = AwsCredential::new("UserID-1", "not-the-secret");
        assert_eq!(check(sign_response(&wrong_secret, REGION, NONCE, now)), Err(SigV4Error::SignatureMismatch));

        let good = sign_response(&user(), REGION, NONCE, now);
        // A tampered signature: one hex digit flipped (index 10 is inside the signature).
        let flipped = {
            let mut s = good.clone().into_bytes();
            s[10] = if s[10] == b'a' { b'b' } else { b'a' };
            String::from_utf8(s).unwrap()
        };
        assert_eq!(check(flipped), Err(SigV4Error::SignatureMismatch));

        let late = sign_response(&user(), REGION, NONCE, now - time::Duration::minutes(16));
        assert_eq!(check(late), Err(SigV4Error::Expired(900)));
        let early = sign_response(&user(), REGION, NONCE, now + time::Duration::minutes(16));
        assert_eq!(check(early), Err(SigV4Error::Expired(900)));
        let within = sign_response(&user(), REGION, NONCE, now - time::Duration::minutes(14));
        assert!(check(within).is_ok());

        let stranger = AwsCredential::new("AKIDUNKNOWN", "x");
        assert_eq!(check(sign_response(&stranger, REGION, NONCE, now)), Err(SigV4Error::UnknownAccessKey));

        let temp_without_token = AwsCredential::new("ASIATEMP", "tempsecret");
        assert_eq!(check(sign_response(&temp_without_token, REGION, NONCE, now)), Err(SigV4Error::MissingSessionToken));
        let temp_wrong_token = AwsCredential::new("ASIATEMP", "tempsecret").with_session_token("tok-2");
        assert_eq!(check(sign_response(&temp_wrong_token, REGION, NONCE, now)), Err(SigV4Error::InvalidSessionToken));
        let temp = AwsCredential::new("ASIATEMP", "tempsecret").with_session_token("tok-1");
        assert_eq!(check(sign_response(&temp, REGION, NONCE, now)), Ok("ASIATEMP".into()));

        let other_region = sign_response(&user(), "eu-west-1", NONCE, now);
        assert_eq!(check(other_region), Err(SigV4Error::SignatureMismatch));
        let other_nonce = sign_response(&user(), REGION, b"00000000000000000000000000000000", now);
        assert_eq!(check(other_nonce), Err(SigV4Error::SignatureMismatch));

        assert!(matches!(check("garbage".into()), Err(SigV4Error::Malformed(_))));
    }

    #[test]
    fn debug_output_holds_no_secret() {
        let shown = format!("{:?}", AwsCredential::new("AKIDSHOWN", "very-secret").with_session_token("tok-secret"));
        assert!(shown.contains("AKIDSHOWN") && !shown.contains("very-secret") && !shown.contains("tok-secret"), "{shown}");
    }

    #[test]
    fn challenge_carries_a_32_char_nonce_the_plugins_can_extract() {
        let (nonce, challenge) = new_challenge();
        assert_eq!(nonce.len(), 32);
        assert_eq!(extract_nonce(&challenge), Some(nonce.as_bytes()));
        assert_eq!(extract_nonce(b"junk nonce=abc,more"), Some(&b"abc"[..]));
        assert_eq!(extract_nonce(b"none here"), None);
    }
}
