
pub mod coap;
