use leptos::prelude::*;
use shared::device::PageMode;
use shared::protocol::{Command, Party};

use crate::actions::use_actions;
use crate::components::add_party::{AddParty, PartyFields};
use crate::keypad::{describe, edit_command, problem};
use crate::ops::Target;
use crate::store::{Dialog, State};

/// Whichever dialog is open, over a backdrop that closes it.
#[component]
pub fn Dialogs(state: State) -> impl IntoView {
    let actions = use_actions();
    move || {
        state.dialog.get().map(|dialog| {
            let body = match dialog {
                Dialog::AddParty => view! { <AddParty state=state /> }.into_any(),
                Dialog::Edit(party) => view! { <EditParty state=state party=party /> }.into_any(),
                Dialog::PageModes(party) => view! { <PageModes party=party /> }.into_any(),
                Dialog::Confirm { title, body, confirm, command, target } => {
                    view! {
                        <div class="sheet confirm" role="alertdialog" aria-modal="true" aria-label=title.clone() data-testid="confirm-dialog">
                            <h2>{title.clone()}</h2>
                            <p>{body}</p>
                            <div class="sheet-actions">
                                <button class="btn btn-large" data-testid="confirm-cancel" on:click=move |_| actions.close()>
                                    "Keep"
                                </button>
                                <button
                                    class="btn btn-danger btn-large"
                                    data-testid="confirm-ok"
                                    on:click=move |_| {
                                        actions.close();
                                        actions.send(command.clone(), target);
                                    }
                                >
                                    {confirm}
                                </button>
                            </div>
                        </div>
                    }
                        .into_any()
                }
            };
            view! {
                <div class="backdrop" on:click=move |_| actions.close() aria-hidden="true"></div>
                {body}
            }
        })
    }
}

#[component]
fn EditParty(state: State, party: Party) -> impl IntoView {
    let actions = use_actions();
    let s = &party.session;
    let number = s.number;
    let name = RwSignal::new(s.label.clone().unwrap_or_default());
    let size = RwSignal::new(s.party_size.unwrap_or(1));
    let goal = RwSignal::new(s.goal_in_seconds);
    let title = format!("Edit pager {number}");
    let party = StoredValue::new(party);
    let change = move || party.with_value(|p| edit_command(p, &name.get(), size.get(), goal.get()));
    let trouble = move || change().and_then(|c| problem(&c));
    view! {
        <div class="sheet" role="dialog" aria-modal="true" aria-label=title.clone() data-testid="edit-dialog">
            <h2>{title.clone()}</h2>
            <div class="sheet-body">
                <PartyFields state=state name=name size=size goal=goal />
                {move || trouble().map(|p| view! { <p class="bad">{p}</p> })}
            </div>
            <div class="sheet-actions">
                <button class="btn btn-large" data-testid="edit-cancel" on:click=move |_| actions.close()>
                    "Cancel"
                </button>
                <button
                    class="btn btn-primary btn-large"
                    data-testid="edit-save"
                    disabled=move || change().is_none() || trouble().is_some()
                    on:click=move |_| {
                        if let Some(command) = change() {
                            actions.close();
                            actions.send(command, Target::Row(number));
                        }
                    }
                >
                    "Save"
                </button>
            </div>
        </div>
    }
}

#[component]
fn PageModes(party: Party) -> impl IntoView {
    let actions = use_actions();
    let number = party.session.number;
    let mode_button = move |mode: PageMode| {
        view! {
            <button
                class="btn mode"
                data-testid=format!("mode-{}", mode.name())
                on:click=move |_| {
                    actions.close();
                    actions
                        .send(
                            Command::PageSession {
                                number: i64::from(number),
                                page_mode: Some(mode.name().to_string()),
                            },
                            Target::Row(number),
                        );
                }
            >
                <span>{mode.description()}</span>
                {(!mode.is_documented()).then(|| view! { <small>"advanced"</small> })}
            </button>
        }
    };
    let group = move |staff: bool| {
        PageMode::ALL
            .iter()
            .copied()
            .filter(|m| m.is_staff() == staff)
            .map(mode_button)
            .collect_view()
    };
    let title = format!("Page {number} with…");
    view! {
        <div class="sheet" role="dialog" aria-modal="true" aria-label=title.clone() data-testid="modes-dialog">
            <h2>{title.clone()}</h2>
            <p class="muted">{describe(&party)}</p>
            <div class="sheet-body modes">
                <h3>"Guest pager"</h3>
                <div class="mode-grid">{group(false)}</div>
                <h3>"Staff pager"</h3>
                <div class="mode-grid">{group(true)}</div>
            </div>
            <div class="sheet-actions">
                <button class="btn btn-large" on:click=move |_| actions.close()>
                    "Cancel"
                </button>
            </div>
        </div>
    }
}
