//! The typed T7470 client: each device operation as one CoAP request through
//! the shared queue, each answer as an [`Envelope`] or a [`DeviceError`] a host can read.

use shared::device::{
    Action, BadDeviceJson, CreateSession, Envelope, ErrorBody, PageMode, RequestBody,
    SettingsUpdate, StandalonePage, UpdateSession,
};
use shared::protocol::ValidCommand;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::coap::{self, Code, ExchangeError, ExchangeId, Method, Request, Response};

/// Why a device operation did not succeed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeviceError {
    /// The device answered with a 4.xx or 5.xx code.
    Rejected {
        code: String,
        message: String,
    },
    /// No answer within the deadline (or the CoAP client stopped).
    Unreachable(ExchangeError),
    /// The device answered, but in a way the CoAP layer could not use (RST, a body
    /// that kept changing mid-transfer, a request too large to send).
    Protocol(ExchangeError),
    BadResponse(BadDeviceJson),
}

impl std::fmt::Display for DeviceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DeviceError::Rejected { code, message } => {
                write!(f, "The transmitter refused the request ({code}): {message}")
            }
            DeviceError::Unreachable(e) => write!(
                f,
                "The transmitter did not answer ({e}); check that it is powered on and on the network."
            ),
            DeviceError::Protocol(e) => write!(f, "The transmitter's answer was unusable: {e}."),
            DeviceError::BadResponse(e) => write!(f, "{e}."),
        }
    }
}

impl std::error::Error for DeviceError {}

impl From<ExchangeError> for DeviceError {
    fn from(e: ExchangeError) -> Self {
        match e {
            ExchangeError::Timeout { .. } | ExchangeError::Closed => DeviceError::Unreachable(e),
            ExchangeError::Reset | ExchangeError::Encode(_) | ExchangeError::BlockTransfer => {
                DeviceError::Protocol(e)
            }
        }
    }
}

/// The answer to a conditional GET /v1/sessions.
#[derive(Clone, Debug, PartialEq)]
pub enum Sessions {
    /// 2.03: the ETag still matches; keep the copy you have.
    Unchanged,
    Changed {
        /// Boxed: an envelope is large and `Unchanged` is the common answer.
        envelope: Box<Envelope>,
        etag: Option<Vec<u8>>,
    },
}

/// The CoAP request each validated tablet command becomes.
pub fn request_for(command: &ValidCommand) -> Request {
    match command {
        ValidCommand::CreateSession(body) => {
            Request::new(Method::Post, "/v1/sessions").with_json(body.to_body())
        }
        ValidCommand::UpdateSession { number, body } => Request::new(Method::Put, "/v1/sessions")
            .with_query(format!("number={number}"))
            .with_json(body.to_body()),
        ValidCommand::ClearAllSessions => Request::new(Method::Delete, "/v1/sessions"),
        ValidCommand::GetHistory => Request::get("/v1/sessions/history"),
        ValidCommand::ClearHistory => Request::new(Method::Delete, "/v1/sessions/history"),
        ValidCommand::GetStatistics => Request::get("/v1/sessions/statistics"),
        ValidCommand::ClearStatistics => Request::new(Method::Delete, "/v1/sessions/statistics"),
        ValidCommand::StandalonePage(body) => {
            Request::new(Method::Post, "/v1/page").with_json(body.to_body())
        }
        ValidCommand::GetSettings => Request::get("/v1/settings"),
        ValidCommand::UpdateSettings(body) => {
            Request::new(Method::Post, "/v1/settings").with_json(body.to_body())
        }
    }
}

/// Reads a finished exchange: success with a body is parsed, success without
/// one (2.02, 2.03) is `None`, an error code becomes `Rejected`.
pub fn interpret(response: &Response) -> Result<Option<Envelope>, DeviceError> {
    if !response.code.is_success() {
        let message = serde_json::from_slice::<ErrorBody>(&response.payload)
            .map(|b| b.error)
            .unwrap_or_else(|_| default_reason(response.code).to_owned());
        return Err(DeviceError::Rejected {
            code: response.code.to_string(),
            message,
        });
    }
    if response.payload.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    Envelope::parse(&response.payload)
        .map(Some)
        .map_err(DeviceError::BadResponse)
}

fn default_reason(code: Code) -> &'static str {
    match code {
        Code::BAD_REQUEST => "the request was not accepted",
        Code::NOT_FOUND => "no such session or resource",
        _ if code.class() == 5 => "the transmitter had an internal problem",
        _ => "no reason given",
    }
}

fn required(envelope: Option<Envelope>) -> Result<Envelope, DeviceError> {
    envelope.ok_or_else(|| DeviceError::BadResponse(BadDeviceJson("the answer had no body".into())))
}

/// The T7470 client; clones share one CoAP queue.
#[derive(Clone)]
pub struct Device {
    coap: coap::Handle,
}

impl Device {
    pub fn new(coap: coap::Handle) -> Self {
        Device { coap }
    }

    /// Sends a validated tablet command; `None` when the device answered with a code only.
    pub async fn execute(&self, command: &ValidCommand) -> Result<Option<Envelope>, DeviceError> {
        self.call(request_for(command)).await
    }

    pub async fn create_session(
        &self,
        body: CreateSession,
    ) -> Result<Option<Envelope>, DeviceError> {
        self.execute(&ValidCommand::CreateSession(body)).await
    }

    pub async fn update_session(
        &self,
        number: u32,
        body: UpdateSession,
    ) -> Result<Option<Envelope>, DeviceError> {
        self.execute(&ValidCommand::UpdateSession { number, body })
            .await
    }

    pub async fn page_session(
        &self,
        number: u32,
        mode: PageMode,
    ) -> Result<Option<Envelope>, DeviceError> {
        self.act(number, Action::Page, Some(mode)).await
    }

    /// Seats the party: archived as STOP.
    pub async fn clear_session(&self, number: u32) -> Result<Option<Envelope>, DeviceError> {
        self.act(number, Action::Clear, None).await
    }

    /// Drops the party: archived as REMOVED.
    pub async fn remove_session(&self, number: u32) -> Result<Option<Envelope>, DeviceError> {
        self.act(number, Action::Remove, None).await
    }

    pub async fn clear_all_sessions(&self) -> Result<Option<Envelope>, DeviceError> {
        self.execute(&ValidCommand::ClearAllSessions).await
    }

    pub async fn get_session(&self, number: u32) -> Result<Envelope, DeviceError> {
        let request = Request::get("/v1/sessions").with_query(format!("number={number}"));
        required(self.call(request).await?)
    }

    /// All active sessions; with the ETag of the copy you hold, `Unchanged` if it still matches.
    pub async fn get_sessions(&self, etag: Option<Vec<u8>>) -> Result<Sessions, DeviceError> {
        let mut request = Request::get("/v1/sessions");
        request.etag = etag;
        self.sessions(request).await
    }

    /// All active sessions, giving up after `deadline` rather than the usual one.
    pub async fn get_sessions_within(&self, deadline: Duration) -> Result<Sessions, DeviceError> {
        self.sessions(Request::get("/v1/sessions").with_deadline(deadline))
            .await
    }

    async fn sessions(&self, request: Request) -> Result<Sessions, DeviceError> {
        let response = self.coap.request(request).await?;
        if response.code == Code::VALID {
            return Ok(Sessions::Unchanged);
        }
        let envelope = required(interpret(&response)?)?;
        Ok(Sessions::Changed {
            envelope: Box::new(envelope),
            etag: response.etag,
        })
    }

    pub async fn get_history(&self) -> Result<Envelope, DeviceError> {
        required(self.execute(&ValidCommand::GetHistory).await?)
    }

    pub async fn clear_history(&self) -> Result<Option<Envelope>, DeviceError> {
        self.execute(&ValidCommand::ClearHistory).await
    }

    pub async fn get_statistics(&self) -> Result<Envelope, DeviceError> {
        required(self.execute(&ValidCommand::GetStatistics).await?)
    }

    pub async fn clear_statistics(&self) -> Result<Option<Envelope>, DeviceError> {
        self.execute(&ValidCommand::ClearStatistics).await
    }

    pub async fn standalone_page(
        &self,
        body: StandalonePage,
    ) -> Result<Option<Envelope>, DeviceError> {
        self.execute(&ValidCommand::StandalonePage(body)).await
    }

    pub async fn get_settings(&self) -> Result<Envelope, DeviceError> {
        required(self.execute(&ValidCommand::GetSettings).await?)
    }

    pub async fn update_settings(
        &self,
        body: SettingsUpdate,
    ) -> Result<Option<Envelope>, DeviceError> {
        self.execute(&ValidCommand::UpdateSettings(body)).await
    }

    /// Registers on /v1/notify?action=get_sessions: the first envelope is the
    /// sessions snapshot, then one per change, settings change and ping.
    pub async fn observe_notify(&self) -> Result<Notifications, DeviceError> {
        let request = Request::get("/v1/notify").with_query("action=get_sessions");
        let observation = self.coap.observe(request).await?;
        let first = required(interpret(&observation.first)?)?;
        Ok(Notifications {
            id: observation.id,
            first,
            rx: observation.notifications,
            coap: self.coap.clone(),
        })
    }

    async fn act(
        &self,
        number: u32,
        action: Action,
        page_mode: Option<PageMode>,
    ) -> Result<Option<Envelope>, DeviceError> {
        let body = UpdateSession {
            action: Some(action),
            page_mode,
            ..Default::default()
        };
        self.update_session(number, body).await
    }

    async fn call(&self, request: Request) -> Result<Option<Envelope>, DeviceError> {
        interpret(&self.coap.request(request).await?)
    }
}

/// A live /v1/notify registration.
pub struct Notifications {
    id: ExchangeId,
    /// The answer to the registration: the sessions snapshot.
    pub first: Envelope,
    rx: mpsc::Receiver<Response>,
    coap: coap::Handle,
}

impl Notifications {
    /// The next notification; `None` once the device has ended the observation.
    /// A notification that cannot be read is an error, and the stream goes on.
    pub async fn next(&mut self) -> Option<Result<Envelope, DeviceError>> {
        let response = self.rx.recv().await?;
        Some(interpret(&response).and_then(required))
    }

    /// Stops observing; the device is told on its next notification (RST).
    pub fn cancel(self) {
        self.coap.cancel(self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(command: ValidCommand) -> (Method, String, Vec<String>, Option<String>) {
        let r = request_for(&command);
        let body = r.json.map(|b| String::from_utf8(b).unwrap());
        (r.method, r.path.join("/"), r.query, body)
    }

    #[test]
    fn each_command_maps_to_its_resource() {
        let page = UpdateSession {
            action: Some(Action::Page),
            page_mode: Some(PageMode::Vibe1),
            ..Default::default()
        };
        let cases = [
            (
                ValidCommand::CreateSession(CreateSession {
                    number: 11,
                    party_size: Some(4),
                    ..Default::default()
                }),
                (
                    Method::Post,
                    "v1/sessions",
                    vec![],
                    Some(r#"{"number":11,"partySize":4}"#),
                ),
            ),
            (
                ValidCommand::UpdateSession {
                    number: 11,
                    body: page,
                },
                (
                    Method::Put,
                    "v1/sessions",
                    vec!["number=11"],
                    Some(r#"{"action":"page","pageMode":"Vibe1"}"#),
                ),
            ),
            (
                ValidCommand::ClearAllSessions,
                (Method::Delete, "v1/sessions", vec![], None),
            ),
            (
                ValidCommand::GetHistory,
                (Method::Get, "v1/sessions/history", vec![], None),
            ),
            (
                ValidCommand::ClearHistory,
                (Method::Delete, "v1/sessions/history", vec![], None),
            ),
            (
                ValidCommand::GetStatistics,
                (Method::Get, "v1/sessions/statistics", vec![], None),
            ),
            (
                ValidCommand::ClearStatistics,
                (Method::Delete, "v1/sessions/statistics", vec![], None),
            ),
            (
                ValidCommand::StandalonePage(StandalonePage {
                    number: 3,
                    ..Default::default()
                }),
                (Method::Post, "v1/page", vec![], Some(r#"{"number":3}"#)),
            ),
            (
                ValidCommand::GetSettings,
                (Method::Get, "v1/settings", vec![], None),
            ),
            (
                ValidCommand::UpdateSettings(SettingsUpdate {
                    default_target_goal: Some(600),
                    ..Default::default()
                }),
                (
                    Method::Post,
                    "v1/settings",
                    vec![],
                    Some(r#"{"defaultTargetGoal":600}"#),
                ),
            ),
        ];
        for (command, (method, path, query, body)) in cases {
            let want = (
                method,
                path.to_owned(),
                query.into_iter().map(String::from).collect(),
                body.map(String::from),
            );
            assert_eq!(shape(command), want);
        }
    }

    fn response(code: Code, payload: &[u8]) -> Response {
        Response {
            code,
            payload: payload.to_vec(),
            etag: None,
            observe: None,
        }
    }

    #[test]
    fn answers_are_read_by_code_then_body() {
        let ok = interpret(&response(
            Code::CONTENT,
            br#"{"responseTypes":["ping"],"extra":1}"#,
        ))
        .unwrap();
        assert!(ok.unwrap().is_ping());
        assert_eq!(interpret(&response(Code::DELETED, b"")), Ok(None));
        assert_eq!(
            interpret(&response(
                Code::NOT_FOUND,
                br#"{"error":"no active session 12"}"#
            )),
            Err(DeviceError::Rejected {
                code: "4.04".into(),
                message: "no active session 12".into()
            })
        );
        let rejected = interpret(&response(Code(0xA0), b"")).unwrap_err();
        assert_eq!(
            rejected.to_string(),
            "The transmitter refused the request (5.00): the transmitter had an internal problem"
        );
        assert!(matches!(
            interpret(&response(Code::CONTENT, b"[1]")),
            Err(DeviceError::BadResponse(_))
        ));
    }

    #[test]
    fn no_answer_is_unreachable_and_reads_as_a_sentence() {
        let e = DeviceError::from(ExchangeError::Timeout { transmissions: 3 });
        assert!(matches!(e, DeviceError::Unreachable(_)));
        assert_eq!(
            e.to_string(),
            "The transmitter did not answer (no answer after sending the request 3 time(s)); check that it is powered on and on the network."
        );
        assert!(matches!(
            DeviceError::from(ExchangeError::Reset),
            DeviceError::Protocol(_)
        ));
    }
}
