//! The SigV4 exchange Amazon Keyspaces runs inside CQL's SASL authentication, as AWS's driver
//! plugins implement it: we open with `SigV4\0\0`, the server challenges with `nonce=<32 chars>`,
//! and we answer `signature=<hex>,access_key=<id>,amzdate=<iso>[,session_token=<token>]`, the
//! signature covering a fixed canonical request whose payload is the nonce.
//!
//! Only the canonical request is specific to Keyspaces; the signing key derivation and the
//! HMAC come from `aws-sigv4`.

use std::time::SystemTime;

use aws_credential_types::Credentials;
use chrono::{DateTime, Utc};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use sha2::{Digest, Sha256};

pub const INITIAL_RESPONSE: &[u8] = b"SigV4\0\0";
const SERVICE: &str = "cassandra";
const ALGORITHM: &str = "AWS4-HMAC-SHA256";
const NONCE_KEY: &[u8] = b"nonce=";
const NONCE_LEN: usize = 32;

/// What `application/x-www-form-urlencoded` leaves as is (the plugins use `quote_plus`).
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// The 32-character nonce following `nonce=` in the server's challenge.
pub fn extract_nonce(challenge: &[u8]) -> Result<&[u8], String> {
    let start = challenge
        .windows(NONCE_KEY.len())
        .position(|w| w == NONCE_KEY)
        .ok_or_else(|| "SigV4 challenge has no nonce".to_owned())?
        + NONCE_KEY.len();
    challenge
        .get(start..start + NONCE_LEN)
        .ok_or_else(|| "SigV4 challenge nonce is shorter than 32 characters".to_owned())
}

/// The answer to one challenge, signed at `now`.
pub fn challenge_response(nonce: &[u8], credentials: &Credentials, region: &str, now: SystemTime) -> String {
    let when: DateTime<Utc> = now.into();
    let amzdate = when.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
    let scope = format!("{}/{region}/{SERVICE}/aws4_request", when.format("%Y%m%d"));
    let canonical = canonical_request(credentials.access_key_id(), &scope, &amzdate, nonce);
    let string_to_sign = format!("{ALGORITHM}\n{amzdate}\n{scope}\n{}", sha256_hex(canonical.as_bytes()));
    let key = aws_sigv4::sign::v4::generate_signing_key(credentials.secret_access_key(), now, region, SERVICE);
    let signature = aws_sigv4::sign::v4::calculate_signature(key, string_to_sign.as_bytes());
    let mut response = format!("signature={signature},access_key={},amzdate={amzdate}", credentials.access_key_id());
    if let Some(token) = credentials.session_token() {
        response.push_str(",session_token=");
        response.push_str(token);
    }
    response
}

fn canonical_request(access_key: &str, scope: &str, amzdate: &str, nonce: &[u8]) -> String {
    // Already in sorted order, as SigV4 requires of query parameters.
    let query = format!(
        "X-Amz-Algorithm={ALGORITHM}&X-Amz-Credential={}%2F{}&X-Amz-Date={}&X-Amz-Expires=900",
        utf8_percent_encode(access_key, QUERY_VALUE),
        utf8_percent_encode(scope, QUERY_VALUE),
        utf8_percent_encode(amzdate, QUERY_VALUE),
    );
    format!("PUT\n/authenticate\n{query}\nhost:{SERVICE}\n\nhost\n{}", sha256_hex(nonce))
}

fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    // The vector AWS's plugins test against: 2020-06-09T22:41:51Z, us-west-2,
    // access key "UserID-1", secret "UserSecretKey-1", nonce below.
    const NONCE: &[u8] = b"91703fdc2ef562e19fbdab0f58e42fe5";
    fn at() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_591_742_511)
    }
    fn creds(token: Option<&str>) -> Credentials {
        Credentials::new("UserID-1", "UserSecretKey-1", token.map(str::to_owned), None, "test")
    }

    #[test]
    fn canonical_request_matches_the_documented_layout() {
        let got = canonical_request("UserID-1", "20200609/us-west-2/cassandra/aws4_request", "2020-06-09T22:41:51.000Z", NONCE);
        assert_eq!(
            got,
            "PUT\n/authenticate\nX-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=UserID-1%2F20200609%2Fus-west-2%2Fcassandra%2Faws4_request&X-Amz-Date=2020-06-09T22%3A41%3A51.000Z&X-Amz-Expires=900\nhost:cassandra\n\nhost\nddf250111597b3f35e51e649f59e3f8b30ff5b247166d709dc1b1e60bd927070"
        );
    }

    #[test]
    fn response_matches_the_plugin_vector() {
        assert_eq!(
            challenge_response(NONCE, &creds(None), "us-west-2", at()),
            "signature=7f3691c18a81b8ce7457699effbfae5b09b4e0714ab38c1292dbdf082c9ddd87,access_key=UserID-1,amzdate=2020-06-09T22:41:51.000Z"
        );
    }

    #[test]
    fn session_token_is_appended_and_not_signed() {
        let with = challenge_response(NONCE, &creds(Some("tok/en+=")), "us-west-2", at());
        let without = challenge_response(NONCE, &creds(None), "us-west-2", at());
        assert_eq!(with, format!("{without},session_token=tok/en+="));
    }

    #[test]
    fn milliseconds_are_kept_and_truncated_to_three_digits() {
        let t = at() + Duration::from_micros(999_500);
        assert!(challenge_response(NONCE, &creds(None), "us-west-2", t).ends_with("amzdate=2020-06-09T22:41:51.999Z"));
    }

    #[test]
    fn nonce_is_found_inside_the_challenge_or_refused() {
        assert_eq!(extract_nonce(b"x nonce=12345678901234567890123456789012,rest").unwrap(), b"12345678901234567890123456789012");
        assert!(extract_nonce(b"no nonce here").is_err());
        assert!(extract_nonce(b"nonce=short").is_err());
    }
}
