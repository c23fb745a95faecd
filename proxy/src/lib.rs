
pub mod coap;
pub mod device;
