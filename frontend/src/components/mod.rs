//! Small components; each reads `State` from its props and writes through
//! the `Actions` context.

pub mod add_party;
pub mod board;
pub mod dialogs;
pub mod header;
pub mod history;
pub mod keypad;
pub mod op_status;
pub mod overlay;
pub mod party_row;
pub mod settings;
pub mod standalone_page;
pub mod statistics;
pub mod undo;
