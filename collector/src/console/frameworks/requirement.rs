//! One requirement: its derived status, the controls behind it with their
//! checks, and its manual assessment, which operators edit here.
//!
//! The form is the API's `PUT …/assessment` (same limits, same store call):
//! answers are typed one per line as `question: answer`; the hidden
//! `version` is the If-Match (empty when there is no assessment yet, which
//! creates one). Someone else's edit in between is the store's `Stale`,
//! shown as the 412 page.

use std::collections::{BTreeMap, BTreeSet};

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use maud::{Markup, html};

use super::{control_link, framework_href};
use crate::api::edit::{self, MAX_NOTES, MAX_REF};
use crate::api::error::ApiError;
use crate::api::extract::Path;
use crate::api::frameworks::{MAX_ANSWERS, MAX_LINKED, MAX_QUESTION, visible};
use crate::api::page::MAX_LIMIT;
use crate::auth::{Need, TenantAccess};
use crate::console::controls::{check_href, control_href, posture_badge, requirement_href};
use crate::console::layout::{self, Page, Section, badge, csrf_field, pct, when};
use crate::console::{Console, ConsoleForm};
use crate::http::AppState;
use crate::store::StoreError;
use crate::store::assessments::{Answer, AssessmentInput, AssessmentResult, AssessmentRow};
use crate::store::controls::{ControlFilter, ControlRow, LinkedCheck};
use crate::store::frameworks::RequirementEntry;
use crate::store::page::PageRequest;

/// Routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new().route(
        "/t/{tenant}/frameworks/{framework}/requirements/{ref}",
        get(show).post(save),
    )
}

/// Every result, in the order the form offers them.
const RESULTS: [AssessmentResult; 5] = [
    AssessmentResult::NotAssessed,
    AssessmentResult::Compliant,
    AssessmentResult::PartiallyCompliant,
    AssessmentResult::NonCompliant,
    AssessmentResult::NotApplicable,
];

/// An answer as typed in the form (and as the API spells it).
fn answer_text(a: Answer) -> &'static str {
    match a {
        Answer::Yes => "yes",
        Answer::Partial => "partial",
        Answer::No => "no",
        Answer::NotApplicable => "n/a",
    }
}

fn parse_answer(s: &str) -> Option<Answer> {
    match s.to_ascii_lowercase().as_str() {
        "yes" => Some(Answer::Yes),
        "partial" => Some(Answer::Partial),
        "no" => Some(Answer::No),
        "n/a" | "na" => Some(Answer::NotApplicable),
        _ => None,
    }
}

/// The answers textarea: one `question: answer` per line, blank lines
/// skipped; the API's limits on count and question length.
fn parse_answers(text: &str) -> Result<BTreeMap<String, Answer>, ApiError> {
    let mut out = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let bad = || {
            ApiError::invalid(format!(
                "answers, line {}: write \"question: yes\" (or partial, no, n/a)",
                n + 1
            ))
        };
        let (q, a) = line.rsplit_once(':').ok_or_else(bad)?;
        let (q, a) = (q.trim(), parse_answer(a.trim()).ok_or_else(bad)?);
        if q.is_empty() || q.chars().count() > MAX_QUESTION || q.chars().any(char::is_control) {
            return Err(ApiError::invalid(format!(
                "questions are 1–{MAX_QUESTION} characters on one line"
            )));
        }
        if out.insert(q.to_string(), a).is_some() {
            return Err(ApiError::invalid(format!(
                "answers, line {}: this question is there twice",
                n + 1
            )));
        }
    }
    if out.len() > MAX_ANSWERS {
        return Err(ApiError::invalid(format!("at most {MAX_ANSWERS} answers")));
    }
    Ok(out)
}

/// The answers as the textarea shows them.
fn answers_text(answers: &BTreeMap<String, Answer>) -> String {
    answers
        .iter()
        .map(|(q, a)| format!("{q}: {}\n", answer_text(*a)))
        .collect()
}

/// The requirement of a path, with its framework, if the caller may see it.
async fn find(
    state: &AppState,
    t: &TenantAccess,
    framework: &str,
    ref_id: &str,
) -> Result<(&'static str, String, RequirementEntry), ApiError> {
    let id = visible(t, framework)?;
    if ref_id.len() > MAX_REF {
        return Err(ApiError::not_found("requirement"));
    }
    let d = state
        .store
        .framework_detail(t, id)
        .await?
        .ok_or_else(|| ApiError::not_found("framework"))?;
    let entry = d
        .requirements
        .into_iter()
        .find(|r| r.ref_id == ref_id)
        .ok_or_else(|| ApiError::not_found("requirement"))?;
    Ok((id, d.summary.name, entry))
}

async fn show(
    State(state): State<AppState>,
    c: Console,
    Path((name, framework, ref_id)): Path<(String, String, String)>,
) -> Page {
    let t = c.tenant(&state, &name, Need::Read).await?;
    let (fw, fw_name, entry) = find(&state, &t, &framework, &ref_id).await?;
    let assessment = state.store.assessment(&t, fw, &ref_id).await?;
    let author_id: Vec<i64> = assessment.iter().filter_map(|a| a.updated_by).collect();
    let author = state.store.reviewer_emails(&t, &author_id).await?;
    let author = author_id.first().and_then(|id| author.get(id)).cloned();
    let ids: Vec<i64> = entry.controls.iter().map(|rc| rc.id).collect();
    let checks = state.store.checks_of_controls(&t, &ids).await?;
    let editable = entry.assessable && Need::Operate.allows(t.role());
    let others = if editable {
        let mut rows = state
            .store
            .controls(
                &t,
                &ControlFilter::default(),
                &PageRequest::first(MAX_LIMIT),
            )
            .await?;
        rows.retain(|r| !ids.contains(&r.id));
        rows
    } else {
        Vec::new()
    };
    let now = c.auth.now;
    let body = html! {
        p { a href=(framework_href(&t, fw)) { "← " (fw_name) } }
        section #requirement data-status=(entry.status) {
            dl.facts {
                dt { "Framework" } dd { a href=(framework_href(&t, fw)) { (fw_name) } }
                dt { "Requirement" } dd { code { (entry.ref_id) } }
                @if let Some(n) = &entry.name { dt { "Title" } dd { (n) } }
                @if let Some(p) = &entry.parent_ref_id {
                    dt { "Under" } dd { a href=(requirement_href(&t, fw, p)) { (p) } }
                }
                dt { "Scan status" } dd #requirement-status { (badge(&entry.status)) }
                dt { "Kind" } dd { @if entry.assessable { "requirement (weight " (entry.weight) ")" } @else { "heading (not assessed by itself)" } }
            }
            h2 { "Controls behind it" }
            (controls(&t, &entry, &checks))
        }
        section #assessment {
            h2 { "Assessment" }
            (assessment_view(&t, assessment.as_ref(), author.as_deref(), now))
            @if editable {
                h3 { "Record the assessment" }
                (form(&t, &c, fw, &entry, assessment.as_ref(), &others))
            } @else if !entry.assessable {
                p.muted { "Headings are not assessed; assess the requirements under it." }
            }
        }
    };
    let title = format!("{} {}", fw_name, entry.ref_id);
    layout::page(&state, &c, Some(&t), Section::Frameworks, &title, body).await
}

fn controls(
    t: &TenantAccess,
    entry: &RequirementEntry,
    checks: &BTreeMap<i64, Vec<LinkedCheck>>,
) -> Markup {
    if entry.controls.is_empty() {
        return layout::empty("No control is mapped to this requirement or linked to it.");
    }
    html! {
        table.data #requirement-controls {
            thead { tr {
                th scope="col" { "Control" }
                th scope="col" { "Checks" }
            } }
            tbody {
                @for rc in &entry.controls {
                    tr data-control=(rc.id) {
                        td.wrap { (control_link(t, rc)) }
                        td {
                            @match checks.get(&rc.id) {
                                Some(list) => ul.checks {
                                    @for k in list {
                                        li {
                                            a href=(check_href(t, &k.check_id)) { code { (k.check_id) } }
                                            @if let Some(title) = &k.title { " " span.name { (title) } }
                                            @if let Some(s) = &k.severity { " " (badge(s)) }
                                        }
                                    }
                                },
                                None => span.muted { "no check" },
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `author`: the e-mail of who made the last change, when they still hold
/// access to the tenant; otherwise only their user id is shown.
fn assessment_view(
    t: &TenantAccess,
    a: Option<&AssessmentRow>,
    author: Option<&str>,
    now: i64,
) -> Markup {
    let Some(a) = a else {
        return layout::empty("Not assessed by hand yet.");
    };
    html! {
        dl.facts {
            dt { "Result" } dd #assessment-result { (badge(a.result.as_str())) }
            dt { "Score" } dd { @match a.score { Some(s) => (pct(s * 100.0)), None => span.muted { "does not count" } } }
            dt { "Notes" } dd #assessment-notes { @match &a.notes { Some(n) => p.prewrap { (n) }, None => span.muted { "none" } } }
            dt { "Linked by hand" } dd {
                @if a.controls.is_empty() { span.muted { "no control" } }
                @for (i, k) in a.controls.iter().enumerate() {
                    @if i > 0 { ", " }
                    a href=(control_href(t, k.id)) { code { (k.key) } } " " (posture_badge(&k.posture))
                }
            }
            dt { "Last change" } dd {
                (when(Some(a.updated_at), now))
                @match (author, a.updated_by) {
                    (Some(email), _) => { " by " span #assessment-author { (email) } }
                    (None, Some(u)) => { " by user #" (u) }
                    (None, None) => {}
                }
                " · version " (a.version)
            }
        }
        @if a.answers.is_empty() {
            p.muted { "No questions answered." }
        } @else {
            table.data #assessment-answers {
                thead { tr { th scope="col" { "Question" } th scope="col" { "Answer" } } }
                tbody {
                    @for (q, ans) in &a.answers {
                        tr { td.wrap { (q) } td { (badge(answer_text(*ans))) } }
                    }
                }
            }
        }
    }
}

fn form(
    t: &TenantAccess,
    c: &Console,
    fw: &str,
    entry: &RequirementEntry,
    a: Option<&AssessmentRow>,
    others: &[ControlRow],
) -> Markup {
    let linked: BTreeSet<i64> = a
        .map(|a| a.controls.iter().map(|k| k.id).collect())
        .unwrap_or_default();
    let result = a.map_or(AssessmentResult::NotAssessed, |a| a.result);
    let shown = others.len().min(MAX_LIMIT as usize);
    html! {
        form.stack #assessment-form method="post" action=(requirement_href(t, fw, &entry.ref_id)) {
            (csrf_field(c))
            input type="hidden" name="version" value=(a.map(|a| a.version.to_string()).unwrap_or_default());
            label for="assessment-result-field" { "Result" }
            select #assessment-result-field name="result" {
                @for r in RESULTS {
                    option value=(r.as_str()) selected[r == result] { (r.as_str().replace('_', " ")) }
                }
            }
            label for="assessment-answers-field" { "Answers: one \"question: answer\" per line (yes, partial, no or n/a)" }
            textarea #assessment-answers-field name="answers" rows="5" { (a.map(|a| answers_text(&a.answers)).unwrap_or_default()) }
            label for="assessment-notes-field" { "Notes" }
            textarea #assessment-notes-field name="notes" maxlength=(MAX_NOTES) rows="4" { (a.and_then(|a| a.notes.as_deref()).unwrap_or("")) }
            @if !entry.controls.is_empty() {
                fieldset #assessment-controls {
                    legend { "Link these controls by hand" }
                    @for rc in &entry.controls {
                        label.check {
                            input type="checkbox" name="control_ids" value=(rc.id) checked[linked.contains(&rc.id)];
                            " " code { (rc.key) } " " (rc.name)
                        }
                    }
                }
            }
            @if !others.is_empty() {
                label for="assessment-other-controls" { "Link other controls (hold Ctrl or ⌘ for several)" }
                select #assessment-other-controls name="control_ids" multiple size="6" {
                    @for r in &others[..shown] {
                        option value=(r.id) selected[linked.contains(&r.id)] { (r.key) " — " (r.name) }
                    }
                }
            }
            div.actions { button type="submit" { "Save assessment" } }
        }
    }
}

/// The assessment form, read from its fields (repeated `control_ids`).
#[derive(Debug)]
struct AssessmentForm {
    result: AssessmentResult,
    answers: BTreeMap<String, Answer>,
    notes: Option<String>,
    version: Option<i64>,
    control_ids: Vec<i64>,
}

fn read_form(fields: Vec<(String, String)>) -> Result<AssessmentForm, ApiError> {
    let mut result = None;
    let mut answers = None;
    let mut notes = None;
    let mut version = None;
    let mut control_ids = Vec::new();
    for (k, v) in fields {
        let slot = match k.as_str() {
            "control_ids" => {
                control_ids.push(
                    v.trim()
                        .parse::<i64>()
                        .map_err(|_| ApiError::invalid("control_ids are control ids"))?,
                );
                continue;
            }
            "result" => &mut result,
            "answers" => &mut answers,
            "notes" => &mut notes,
            "version" => &mut version,
            _ => return Err(ApiError::invalid(format!("unknown field {k:?}"))),
        };
        if slot.replace(v).is_some() {
            return Err(ApiError::invalid(format!("{k} is given twice")));
        }
    }
    let result = result
        .as_deref()
        .and_then(AssessmentResult::parse)
        .ok_or_else(|| ApiError::invalid("result: choose one of the results"))?;
    control_ids.sort_unstable();
    control_ids.dedup();
    if control_ids.len() > MAX_LINKED {
        return Err(ApiError::invalid(format!(
            "link at most {MAX_LINKED} controls"
        )));
    }
    let version = match version.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(v) => Some(
            v.parse::<i64>()
                .map_err(|_| ApiError::invalid("the form's version is not a number"))?,
        ),
    };
    Ok(AssessmentForm {
        result,
        answers: parse_answers(answers.as_deref().unwrap_or(""))?,
        notes: edit::text("notes", notes, MAX_NOTES)?,
        version,
        control_ids,
    })
}

async fn save(
    State(state): State<AppState>,
    Path((name, framework, ref_id)): Path<(String, String, String)>,
    ConsoleForm { console: c, form }: ConsoleForm<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let t = c.tenant(&state, &name, Need::Operate).await?;
    let fw = visible(&t, &framework)?;
    if ref_id.len() > MAX_REF {
        return Err(ApiError::not_found("requirement"));
    }
    let form = read_form(form)?;
    let input = AssessmentInput {
        result: form.result,
        answers: form.answers,
        notes: form.notes,
        control_ids: form.control_ids,
    };
    state
        .store
        .put_assessment(
            &c.auth.context(),
            &t,
            Some(c.auth.principal.user_id),
            fw,
            &ref_id,
            form.version,
            &input,
        )
        .await
        .map_err(|e| match e {
            StoreError::NotFound => ApiError::not_found("requirement"),
            e => e.into(),
        })?;
    Ok(crate::console::back(&requirement_href(&t, fw, &ref_id)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_read_one_per_line() {
        let a = parse_answers("Alerts reviewed? : yes\n\n  Time: 10:30 ok?: N/A\nRunbook:no\n")
            .unwrap();
        assert_eq!(a.len(), 3);
        assert_eq!(a["Alerts reviewed?"], Answer::Yes);
        assert_eq!(a["Time: 10:30 ok?"], Answer::NotApplicable);
        assert_eq!(a["Runbook"], Answer::No);
        assert_eq!(parse_answers(&answers_text(&a)).unwrap(), a);
        for bad in ["no colon", "Q: maybe", ": yes", "Q: yes\nQ: no"] {
            assert_eq!(parse_answers(bad).unwrap_err().code(), "invalid", "{bad}");
        }
        let many: String = (0..=MAX_ANSWERS).map(|i| format!("q{i}: yes\n")).collect();
        assert!(parse_answers(&many).is_err());
    }

    #[test]
    fn forms_are_read_strictly() {
        let f = |pairs: &[(&str, &str)]| {
            read_form(
                pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            )
        };
        let ok = f(&[
            ("result", "compliant"),
            ("version", ""),
            ("control_ids", "3"),
            ("control_ids", "1"),
            ("control_ids", "3"),
            ("notes", "  "),
        ])
        .unwrap();
        assert_eq!(
            (ok.result, ok.version, ok.control_ids, ok.notes),
            (AssessmentResult::Compliant, None, vec![1, 3], None)
        );
        assert_eq!(
            f(&[("result", "compliant"), ("version", "4")])
                .unwrap()
                .version,
            Some(4)
        );
        for bad in [
            &[("result", "great")][..],
            &[("result", "compliant"), ("extra", "x")],
            &[("result", "compliant"), ("result", "compliant")],
            &[("result", "compliant"), ("control_ids", "x")],
            &[("result", "compliant"), ("version", "v1")],
        ] {
            assert_eq!(f(bad).unwrap_err().code(), "invalid", "{bad:?}");
        }
    }
}
