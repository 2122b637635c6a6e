//! Prowler's reading of VPC endpoint policies: who can use the endpoint, and
//! when a `Condition` block confines access to an account.

use serde_json::Value;

use crate::principal_account;

/// Walk an endpoint policy the way Prowler does and return the verdict of the
/// last principal it evaluates: `Some(true)` when every principal met so far is
/// trusted, `Some(false)` at the first untrusted one (the walk stops there),
/// `None` when the policy names no principal Prowler evaluates.
///
/// `Effect` is not looked at. A statement whose `Principal` is `*` (or an `AWS`
/// principal `*`) is trusted only when its `Condition` confines it to every
/// trusted account; an `AWS` principal is trusted when its account is, and a
/// `Condition` on its statement replaces that verdict with the condition test.
/// `Service` and `Federated` principals are not evaluated.
pub(crate) fn endpoint_policy_trusted(policy: &Value, trusted: &[String]) -> Option<bool> {
    let statements: Vec<&Value> = match policy.get("Statement") {
        Some(Value::Array(list)) => list.iter().collect(),
        Some(one @ Value::Object(_)) => vec![one],
        _ => Vec::new(),
    };
    let mut verdict = None;
    for statement in statements {
        let Some(principal) = statement.get("Principal") else {
            continue;
        };
        let condition = statement.get("Condition");
        let confined = || condition.is_some_and(|c| restrictive_for_all(c, trusted));
        if principal.as_str() == Some("*") {
            let ok = confined();
            verdict = Some(ok);
            if !ok {
                break;
            }
            continue;
        }
        let aws: Vec<&str> = match principal.get("AWS") {
            Some(Value::String(s)) => vec![s.as_str()],
            Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        for p in aws {
            // A wildcard needs the condition; a named principal's account verdict
            // is replaced by the condition test when there is one.
            let ok = if p == "*" || condition.is_some() {
                confined()
            } else {
                trusted.iter().any(|t| t == principal_account(p))
            };
            verdict = Some(ok);
            if !ok {
                return verdict;
            }
        }
    }
    verdict
}

/// The condition confines access to each trusted account (Prowler requires all
/// of them, the scanned account included).
fn restrictive_for_all(condition: &Value, trusted: &[String]) -> bool {
    trusted.iter().all(|a| restrictive(condition, a))
}

/// Condition keys Prowler accepts as confining access, per operator (lower case:
/// key names are case-insensitive).
const STRING_KEYS: &[&str] = &[
    "aws:sourceaccount",
    "aws:sourceowner",
    "aws:sourcearn",
    "aws:principalaccount",
    "aws:principalarn",
    "aws:principalorgid",
    "aws:principalorgpaths",
    "aws:resourceaccount",
    "aws:sourcevpc",
    "aws:sourcevpce",
    "aws:sourceorgid",
    "aws:sourceorgpaths",
    "aws:userid",
    "aws:username",
    "s3:resourceaccount",
    "lambda:eventsourcetoken",
];
const ARN_KEYS: &[&str] = &["aws:sourcearn", "aws:principalarn"];
const OPERATORS: &[(&str, &[&str])] = &[
    ("StringEquals", STRING_KEYS),
    ("StringLike", STRING_KEYS),
    ("ArnLike", ARN_KEYS),
    ("ArnEquals", ARN_KEYS),
];

/// Whether a `Condition` block confines access to `account`: one of the keys
/// above names the account in every value (a substring test, as in Prowler),
/// names a source VPC or endpoint, or (`aws:SourceArn`) lists only ARNs that
/// are neither wildcards nor in another account.
fn restrictive(condition: &Value, account: &str) -> bool {
    let mut valid = false;
    for (operator, keys) in OPERATORS {
        let Some(Value::Object(entries)) = condition.get(*operator) else {
            continue;
        };
        for key in *keys {
            let Some(value) = entries
                .iter()
                .find(|(k, _)| k.to_lowercase() == *key)
                .map(|(_, v)| v)
            else {
                continue;
            };
            let vpc = matches!(*key, "aws:sourcevpc" | "aws:sourcevpce");
            match value {
                Value::Array(items) => {
                    let ok = vpc
                        || if *key == "aws:sourcearn" {
                            source_arns_restrictive(items.iter().collect(), account)
                        } else {
                            items
                                .iter()
                                .all(|i| i.as_str().is_some_and(|s| s.contains(account)))
                        };
                    if ok {
                        valid = true;
                    }
                }
                Value::String(s) => {
                    if vpc {
                        valid = true;
                    } else if *key == "aws:sourcearn" {
                        // Prowler assigns here rather than accumulating.
                        valid = source_arns_restrictive(vec![value], account);
                    } else if s.contains(account) {
                        valid = true;
                    }
                }
                _ => {}
            }
        }
    }
    valid
}

/// `aws:SourceArn` values confine access to `account` when none is a broad
/// wildcard and each either has no account field or names the account.
fn source_arns_restrictive(values: Vec<&Value>, account: &str) -> bool {
    for v in values {
        let Some(arn) = v.as_str() else {
            return false;
        };
        if arn == "*"
            || arn.matches('*').count() >= 3
            || arn.ends_with(":::*")
            || arn.ends_with(":*")
        {
            return false;
        }
        match arn.split(':').nth(4) {
            Some("*") => return false,
            Some(field) if !field.is_empty() => {
                let named = if field.bytes().all(|b| b.is_ascii_digit()) {
                    arn.contains(account)
                } else {
                    field == account
                };
                if !named {
                    return false;
                }
            }
            _ => {}
        }
    }
    true
}
