//! Secrets as the configuration gives them: the shortest accepted, and their
//! SHA-256 (computed, or given in hex), which is all the service keeps.

use ring::digest::{digest, SHA256};

/// The shortest token or client secret accepted in the configuration.
pub const MIN_TOKEN_LEN: usize = 16;

pub fn sha256(token: &str) -> [u8; 32] {
    let mut out = [0; 32];
    out.copy_from_slice(digest(&SHA256, token.as_bytes()).as_ref());
    out
}

pub fn parse_hex(hex: &str) -> Option<[u8; 32]> {
    let hex = hex.trim();
    if hex.len() != 64 || !hex.is_ascii() {
        return None;
    }
    let mut out = [0; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}
