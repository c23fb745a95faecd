//! One queued request and its progress on the wire.

use std::time::Instant;

use super::block::{Block, Reassembly};
use super::message::{Code, Request};
use super::retransmit::Schedule;

/// Names an exchange (and, for a registration, its observation) to the caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ExchangeId(pub u64);

/// Who gets the finished body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// The caller's request (or registration, when `Exchange::observe`).
    Caller,
    /// The remaining blocks of a notification on this observation.
    Notification {
        observation: ExchangeId,
        seq: u32,
        code: Code,
    },
}

#[derive(Debug)]
pub struct Exchange {
    pub id: ExchangeId,
    pub purpose: Purpose,
    pub request: Request,
    /// A registration: Observe=0 on its first block.
    pub observe: bool,
    /// The token of the first block, which an observation keeps.
    pub token: Vec<u8>,
    pub deadline: Instant,
    /// Datagrams sent for this exchange, retransmissions included.
    pub transmissions: u32,
    pub block_restarts: u32,
    pub reassembly: Reassembly,
    /// The Observe number of block 0, for a registration answered in blocks.
    pub first_observe: Option<u32>,
    /// The block to ask for when this exchange reaches the wire (a notification's follow-up).
    pub resume: Option<Block>,
    pub flight: Option<Flight>,
}

/// The request message currently on the wire.
#[derive(Debug)]
pub struct Flight {
    pub message_id: u16,
    pub token: Vec<u8>,
    pub bytes: Vec<u8>,
    /// `None` once an empty ACK said a separate response will follow.
    pub schedule: Option<Schedule>,
}
