//! What the host reads when a command did not simply go through: the words
//! beside the protocol they travel in, so the proxy's state machine decides
//! only *which* verdict, never how it is phrased.

use crate::protocol::Verdict;

/// What is known about a command the transmitter did not answer in time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unanswered {
    /// It never left the proxy: nothing happened.
    NotSent,
    /// It was sent, and reading the transmitter back showed it was not done.
    NotDone,
    /// It was sent and may have been done; the board will show it when the
    /// transmitter answers again.
    Unknown,
}

impl Verdict {
    /// The transmitter stayed silent until the command's deadline (`waited_s`).
    pub fn unreachable(what: Unanswered, waited_s: u64) -> Verdict {
        let message = match what {
            Unanswered::NotSent => format!(
                "The transmitter did not answer for {waited_s} s, so this was not sent. Check that it is powered on and on the network, then try again."
            ),
            Unanswered::NotDone => format!(
                "The transmitter did not answer for {waited_s} s; reading it back showed this was not done. Try again when it answers."
            ),
            Unanswered::Unknown => format!(
                "The transmitter stopped answering for {waited_s} s; whether it acted is unknown until it answers again, when the board will show it."
            ),
        };
        Verdict::Unreachable { message }
    }

    /// The transmitter kept answering, but not this command, for `waited_s`
    /// (the deadline times the carry limit): given up without sending it again.
    pub fn unconfirmed(what: Unanswered, waited_s: u64) -> Verdict {
        let message = match what {
            Unanswered::NotSent | Unanswered::NotDone => format!(
                "The transmitter answers but did not take this in {waited_s} s; reading it back showed it was not done. Try again."
            ),
            Unanswered::Unknown => format!(
                "The transmitter answers but did not confirm this in {waited_s} s; whether it acted is unknown until the board shows it."
            ),
        };
        Verdict::Unreachable { message }
    }

    /// A command whose outcome no read-back can prove (a standalone page): it
    /// was sent, unanswered, and is not sent again in case it did go out.
    pub fn unprovable() -> Verdict {
        Verdict::Unreachable {
            message: "The transmitter did not answer, and nothing on it shows whether this went out, so it was not sent again. Check the pager before paging again.".into(),
        }
    }

    /// A create on a pager that already has a party (or one being created).
    pub fn number_in_use(number: u32, holder: Option<&str>, free: Option<u32>) -> Verdict {
        let who = holder
            .map(|label| format!(" ({label})"))
            .unwrap_or_default();
        let suggestion = match free {
            Some(n) => format!(" Pager {n} is free."),
            None => " Every pager is in use.".into(),
        };
        Verdict::Invalid {
            code: "number_in_use".into(),
            message: format!("Pager {number} is already with a party{who}.{suggestion}"),
        }
    }

    /// Too many commands are waiting for the transmitter; this one was not queued.
    pub fn busy(waiting: usize) -> Verdict {
        Verdict::Invalid {
            code: "busy".into(),
            message: format!(
                "{waiting} commands are already waiting for the transmitter, so this one was not sent. Try again in a moment."
            ),
        }
    }

    /// The command waited its whole deadline behind other commands (a flood)
    /// while the transmitter answered; it was not sent.
    pub fn crowded(waited_s: u64) -> Verdict {
        Verdict::Invalid {
            code: "busy".into(),
            message: format!(
                "This waited {waited_s} s behind other commands for the transmitter and was not sent. Try again in a moment."
            ),
        }
    }

    /// The transmitter's answer could not be read.
    pub fn bad_response(detail: &str) -> Verdict {
        Verdict::Rejected {
            device_code: "bad_response".into(),
            message: format!("The transmitter's answer was unusable: {detail}."),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_unanswered_case_says_what_the_host_can_do() {
        let text = |v: Verdict| match v {
            Verdict::Unreachable { message } => message,
            other => panic!("{other:?}"),
        };
        assert!(text(Verdict::unreachable(Unanswered::NotSent, 30)).contains("was not sent"));
        assert!(text(Verdict::unreachable(Unanswered::NotDone, 30)).contains("not done"));
        assert!(text(Verdict::unreachable(Unanswered::Unknown, 30)).contains("unknown"));
        assert!(text(Verdict::unprovable()).contains("not sent again"));
        assert!(text(Verdict::unconfirmed(Unanswered::NotDone, 90)).contains("answers but"));
        assert!(text(Verdict::unconfirmed(Unanswered::Unknown, 90)).contains("unknown"));
    }

    #[test]
    fn number_in_use_names_the_holder_and_a_free_pager() {
        let Verdict::Invalid { code, message } = Verdict::number_in_use(4, Some("Ana"), Some(5))
        else {
            panic!()
        };
        assert_eq!(code, "number_in_use");
        assert_eq!(
            message,
            "Pager 4 is already with a party (Ana). Pager 5 is free."
        );
    }
}
