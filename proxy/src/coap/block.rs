//! Block2 (RFC 7959): the option value and the reassembly of a response body.
//!
//! The option is coded here rather than with coap-lite's `BlockValue` because
//! that one packs the number into a `u16` and would overflow on a hostile
//! block number; here every value a peer can send decodes or is refused.

/// A Block2 option value: block number, "more follows", size exponent (size = 2^(szx+4)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Block {
    pub num: u32,
    pub more: bool,
    pub szx: u8,
}

/// Block numbers are 20 bits in the 3-byte option.
const MAX_NUM: u32 = (1 << 20) - 1;

impl Block {
    pub fn new(num: u32, more: bool, szx: u8) -> Self {
        Block { num, more, szx }
    }

    pub fn size(self) -> usize {
        1 << (self.szx + 4)
    }

    pub fn encode(self) -> Vec<u8> {
        let value = self.num << 4 | u32::from(self.more) << 3 | u32::from(self.szx);
        if value == 0 {
            // A uint option with value 0 is sent with no bytes at all.
            return Vec::new();
        }
        let bytes = value.to_be_bytes();
        let skip = bytes.iter().take(3).take_while(|b| **b == 0).count();
        bytes[skip..].to_vec()
    }

    /// `None` for a value that is too long or uses the reserved size exponent 7 (BERT).
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let value = super::message::uint(bytes)?;
        let szx = (value & 0x7) as u8;
        (szx < 7).then_some(Block {
            num: value >> 4,
            more: value & 0x8 != 0,
            szx,
        })
    }
}

/// What to do after a block arrived.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// Ask for this block next.
    Fetch(Block),
    /// The body is complete.
    Done(Vec<u8>),
    /// The representation changed (or the blocks do not line up): start again from block 0.
    Restart,
}

/// The body collected so far and the ETag it must keep.
#[derive(Debug, Default)]
pub struct Reassembly {
    body: Vec<u8>,
    etag: Option<Vec<u8>>,
}

impl Reassembly {
    pub fn accept(&mut self, block: Block, etag: Option<&[u8]>, payload: &[u8]) -> Step {
        if block.num == 0 {
            self.body.clear();
            self.etag = etag.map(<[u8]>::to_vec);
        } else if etag != self.etag.as_deref() {
            return self.restart();
        }
        // The server may shrink the size between blocks, so line up by byte offset.
        let offset = block.num as usize * block.size();
        if offset != self.body.len() || (block.more && payload.len() != block.size()) {
            return self.restart();
        }
        self.body.extend_from_slice(payload);
        if !block.more {
            return Step::Done(std::mem::take(&mut self.body));
        }
        if block.num >= MAX_NUM {
            return self.restart();
        }
        Step::Fetch(Block::new(block.num + 1, false, block.szx))
    }

    fn restart(&mut self) -> Step {
        self.body.clear();
        self.etag = None;
        Step::Restart
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn option_values_round_trip_with_minimal_length() {
        assert_eq!(Block::new(0, true, 6).encode(), vec![0x0E]);
        assert_eq!(Block::new(0, false, 0).encode(), Vec::<u8>::new());
        assert_eq!(Block::new(300, true, 6).encode(), vec![0x12, 0xCE]);
        for b in [
            Block::new(0, true, 6),
            Block::new(MAX_NUM, false, 2),
            Block::new(17, true, 0),
        ] {
            assert_eq!(Block::decode(&b.encode()), Some(b));
        }
        assert_eq!(Block::decode(&[0x07]), None, "szx 7 is reserved");
        assert_eq!(Block::decode(&[1, 2, 3, 4]), None, "at most 3 bytes");
    }

    #[test]
    fn reassembles_in_order() {
        let mut r = Reassembly::default();
        let first = [1u8; 16];
        assert_eq!(
            r.accept(Block::new(0, true, 0), Some(b"e"), &first),
            Step::Fetch(Block::new(1, false, 0))
        );
        assert_eq!(
            r.accept(Block::new(1, false, 0), Some(b"e"), b"tail"),
            Step::Done([&first[..], b"tail"].concat())
        );
    }

    #[test]
    fn changed_etag_or_misaligned_block_restarts() {
        let mut r = Reassembly::default();
        r.accept(Block::new(0, true, 0), Some(b"a"), &[0; 16]);
        assert_eq!(
            r.accept(Block::new(1, false, 0), Some(b"b"), b"x"),
            Step::Restart
        );
        r.accept(Block::new(0, true, 0), Some(b"a"), &[0; 16]);
        assert_eq!(
            r.accept(Block::new(2, false, 0), Some(b"a"), b"x"),
            Step::Restart
        );
    }
}
