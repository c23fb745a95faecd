//! Request bodies and queries, checked the way the device checks them.
//!
//! Bodies are read as JSON objects first and each field is validated by
//! `shared::limits`, so an out-of-range value answers 4.00 with the same
//! sentence the frontend shows (a straight serde parse into `u32` would turn
//! `-1` into a serde message instead). Unknown fields are ignored; `null` means
//! "not given", except for a PUT `label`, where it clears the label.

use serde_json::{Map, Value};
use shared::device::{Action, CreateSession, SettingsUpdate, StandalonePage, UpdateSession};
use shared::limits::{self, LimitError};
use shared::time::DeviceTime;

/// Why a request is answered 4.00; the text goes into `{"error": ...}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadRequest(pub String);

impl From<LimitError> for BadRequest {
    fn from(error: LimitError) -> Self {
        BadRequest(error.to_string())
    }
}

type Fields = Map<String, Value>;

/// The body as a JSON object; an empty body is an empty object.
fn json_object(body: &[u8]) -> Result<Fields, BadRequest> {
    // The real device's parser trips on these (the docs warn to send compact JSON).
    if body.iter().any(|b| matches!(b, b'\t' | b'\r' | b'\n')) {
        return Err(BadRequest(
            "The request body must be single-line JSON without tabs or line breaks.".into(),
        ));
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Fields::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(fields)) => Ok(fields),
        Ok(_) => Err(BadRequest("The request body must be a JSON object.".into())),
        Err(error) => Err(BadRequest(format!(
            "The request body is not JSON: {error}."
        ))),
    }
}

fn given<'a>(fields: &'a Fields, name: &str) -> Option<&'a Value> {
    fields.get(name).filter(|value| !value.is_null())
}

fn integer(fields: &Fields, name: &str) -> Result<Option<i64>, BadRequest> {
    match given(fields, name) {
        None => Ok(None),
        Some(value) => value
            .as_i64()
            .map(Some)
            .ok_or_else(|| BadRequest(format!("\"{name}\" must be a whole number."))),
    }
}

fn text<'a>(fields: &'a Fields, name: &str) -> Result<Option<&'a str>, BadRequest> {
    match given(fields, name) {
        None => Ok(None),
        Some(value) => value
            .as_str()
            .map(Some)
            .ok_or_else(|| BadRequest(format!("\"{name}\" must be a string."))),
    }
}

fn required_pager(fields: &Fields) -> Result<u32, BadRequest> {
    let number = integer(fields, "number")?
        .ok_or_else(|| BadRequest("\"number\" is required: the pager to use.".into()))?;
    Ok(limits::pager_number(number)?)
}

fn action(fields: &Fields) -> Result<Option<Action>, BadRequest> {
    let Some(name) = text(fields, "action")? else {
        return Ok(None);
    };
    match name {
        "page" => Ok(Some(Action::Page)),
        "clear" => Ok(Some(Action::Clear)),
        "remove" => Ok(Some(Action::Remove)),
        other => Err(BadRequest(format!(
            "\"{other}\" is not an action: use page, clear or remove."
        ))),
    }
}

fn checked<T>(
    value: Option<i64>,
    check: fn(i64) -> Result<T, LimitError>,
) -> Result<Option<T>, BadRequest> {
    Ok(value.map(check).transpose()?)
}

/// POST /v1/sessions.
pub fn create_session(body: &[u8]) -> Result<CreateSession, BadRequest> {
    let fields = json_object(body)?;
    Ok(CreateSession {
        number: required_pager(&fields)?,
        goal: checked(integer(&fields, "goal")?, limits::goal_seconds)?,
        label: text(&fields, "label")?
            .map(limits::label)
            .transpose()?
            .flatten(),
        party_size: checked(integer(&fields, "partySize")?, limits::party_size)?,
        action: action(&fields)?,
    })
}

/// PUT /v1/sessions?number=N. An empty (or null) label comes back as `Some("")`: clear it.
pub fn update_session(body: &[u8]) -> Result<UpdateSession, BadRequest> {
    let fields = json_object(body)?;
    let label = match fields.get("label") {
        None => None,
        Some(Value::Null) => Some(String::new()),
        Some(_) => Some(
            text(&fields, "label")?
                .map(limits::label)
                .transpose()?
                .flatten()
                .unwrap_or_default(),
        ),
    };
    Ok(UpdateSession {
        goal: checked(integer(&fields, "goal")?, limits::goal_seconds)?,
        label,
        party_size: checked(integer(&fields, "partySize")?, limits::party_size)?,
        action: action(&fields)?,
        page_mode: text(&fields, "pageMode")?
            .map(limits::page_mode)
            .transpose()?,
    })
}

/// POST /v1/page.
pub fn standalone_page(body: &[u8]) -> Result<StandalonePage, BadRequest> {
    let fields = json_object(body)?;
    Ok(StandalonePage {
        number: required_pager(&fields)?,
        page_mode: text(&fields, "pageMode")?
            .map(limits::page_mode)
            .transpose()?,
        message: text(&fields, "message")?
            .map(limits::message)
            .transpose()?
            .flatten(),
        system_id: checked(integer(&fields, "systemId")?, limits::system_id)?,
    })
}

/// POST /v1/settings: any subset, all checked before anything is applied.
pub fn settings_update(body: &[u8]) -> Result<SettingsUpdate, BadRequest> {
    let fields = json_object(body)?;
    let datetime = text(&fields, "datetime")?
        .map(DeviceTime::parse)
        .transpose()
        .map_err(|bad| BadRequest(format!("{bad}.")))?;
    Ok(SettingsUpdate {
        datetime,
        system_id: checked(integer(&fields, "systemId")?, limits::system_id)?,
        default_target_goal: checked(integer(&fields, "defaultTargetGoal")?, limits::goal_seconds)?,
        statistics_clear_mark: checked(
            integer(&fields, "statisticsClearMark")?,
            limits::clear_mark,
        )?,
    })
}

/// The `number=N` Uri-Query, if the request has one.
pub fn pager_query(query: &[String]) -> Result<Option<u32>, BadRequest> {
    let Some(value) = query.iter().find_map(|item| item.strip_prefix("number=")) else {
        return Ok(None);
    };
    let number = value
        .parse::<i64>()
        .map_err(|_| BadRequest(format!("\"{value}\" is not a pager number.")))?;
    Ok(Some(limits::pager_number(number)?))
}

#[cfg(test)]
mod tests {
    use shared::device::PageMode;

    use super::*;

    #[test]
    fn tabs_and_line_breaks_are_rejected_even_in_valid_json() {
        for body in [
            &b"{\"number\":\t5}"[..],
            b"{\"number\":5}\n",
            b"{\r\"number\":5}",
        ] {
            let error = create_session(body).unwrap_err();
            assert!(error.0.contains("single-line"), "{error:?}");
        }
        assert!(create_session(b"{ \"number\": 5 }").is_ok());
    }

    #[test]
    fn limits_speak_their_own_sentence() {
        assert_eq!(
            create_session(br#"{"number":-1}"#).unwrap_err().0,
            "Pager -1 does not exist: pager numbers run from 1 to 4095."
        );
        assert_eq!(
            update_session(br#"{"partySize":100}"#).unwrap_err(),
            LimitError::PartySizeOutOfRange { value: 100 }.into()
        );
        assert_eq!(
            update_session(br#"{"pageMode":"Disco"}"#).unwrap_err().0,
            "\"Disco\" is not a page mode this transmitter knows."
        );
        assert!(settings_update(br#"{"statisticsClearMark":25}"#).is_err());
    }

    #[test]
    fn shapes_that_are_not_the_documented_body_are_rejected() {
        assert!(create_session(b"").unwrap_err().0.contains("required"));
        assert!(create_session(b"[5]").unwrap_err().0.contains("object"));
        assert!(create_session(b"{number:5}")
            .unwrap_err()
            .0
            .contains("not JSON"));
        assert!(create_session(br#"{"number":"5"}"#)
            .unwrap_err()
            .0
            .contains("whole number"));
        assert!(create_session(br#"{"number":5,"action":"seat"}"#)
            .unwrap_err()
            .0
            .contains("not an action"));
        assert!(settings_update(br#"{"datetime":"2018-03-15 12:00:00"}"#).is_err());
    }

    #[test]
    fn fields_are_read_with_their_wire_names() {
        let create = create_session(
            br#"{ "number": 66, "goal": 60, "label": " Sarah ", "partySize": 4, "extra": 1 }"#,
        )
        .unwrap();
        assert_eq!(
            create,
            CreateSession {
                number: 66,
                goal: Some(60),
                label: Some("Sarah".into()),
                party_size: Some(4),
                action: None
            }
        );
        let update =
            update_session(br#"{"action":"page","pageMode":"Vibe1","label":null}"#).unwrap();
        assert_eq!(update.action, Some(Action::Page));
        assert_eq!(update.page_mode, Some(PageMode::Vibe1));
        assert_eq!(update.label, Some(String::new()));
        let page =
            standalone_page(br#"{"number":66,"systemId":3,"message":"Table ready"}"#).unwrap();
        assert_eq!(
            (page.system_id, page.message.as_deref()),
            (Some(3), Some("Table ready"))
        );
    }

    #[test]
    fn the_number_query_is_validated() {
        assert_eq!(pager_query(&["number=23".into()]), Ok(Some(23)));
        assert_eq!(pager_query(&[]), Ok(None));
        assert!(pager_query(&["number=x".into()]).is_err());
        assert!(pager_query(&["number=0".into()]).is_err());
    }
}
