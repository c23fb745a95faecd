//! Entity tags: 8 bytes of FNV-1a over the representation's content.
//!
//! A content hash (not a counter) means "same tag ⇔ same data" even across a
//! reboot that resets every counter, which is what a client revalidating its
//! cached GET /v1/sessions relies on.

pub fn content_tag(parts: &[&[u8]]) -> Vec<u8> {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0100_0000_01b3;
    let mut hash = OFFSET_BASIS;
    for byte in parts.iter().flat_map(|part| part.iter()) {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(PRIME);
    }
    hash.to_be_bytes().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_content_equal_tag_different_content_different_tag() {
        // The published FNV-1a 64 test vector for "a".
        assert_eq!(
            content_tag(&[b"a"]),
            0xaf63_dc4c_8601_ec8c_u64.to_be_bytes()
        );
        assert_eq!(content_tag(&[b"ab", b"c"]), content_tag(&[b"abc"]));
        assert_ne!(content_tag(&[b"abc"]), content_tag(&[b"abd"]));
    }
}
