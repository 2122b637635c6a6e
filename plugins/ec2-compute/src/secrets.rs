//! Citadel's own secret detector for EC2 user data, and the two Prowler checks
//! that use it (`ec2_instance_secrets_user_data`, `ec2_launch_template_no_secrets`).
//!
//! Prowler scans user data with the Kingfisher scanner and its rule set; Citadel
//! uses the small, documented rule set below instead, so verdicts agree on
//! clear-cut secrets and may differ on borderline text. User data is base64
//! decoded, gunzipped when it starts with the gzip magic bytes `1f 8b`, and read
//! as UTF-8; text that fails any of these steps cannot be scanned (Prowler's
//! `MANUAL`, an `error` result here with Prowler's text). Prowler's
//! `secrets_ignore_patterns` and live validation (`secrets_validate`) have no
//! equivalent: the sandbox has no network, and every rule match is reported.
//!
//! Rules, applied line by line (lines count from 1; each rule reports a line
//! once; the generic rule only on lines no other rule matched). Instances and
//! templates are matched with their user data by region and id.
//!
//! | type | matches |
//! |---|---|
//! | `AWS Access Key ID` | `AKIA` or `ASIA` followed by 16 upper-case letters or digits, as a whole word |
//! | `AWS Secret Access Key` | a whole-word run of exactly 40 characters from `A-Z a-z 0-9 / +` with at least one digit, one lower- and one upper-case letter, on a line that also names `aws` and `secret`, or within 3 lines of an access key id |
//! | `Private Key` | a PEM header `-----BEGIN … PRIVATE KEY-----` (RSA, EC, DSA, OPENSSH, ENCRYPTED or none) |
//! | `GitHub Token` | `ghp_`, `gho_`, `ghu_`, `ghs_` or `ghr_` followed by at least 36 letters/digits, or `github_pat_` followed by at least 22 letters/digits/`_` |
//! | `Slack Token` | `xoxb-`, `xoxa-`, `xoxp-`, `xoxr-` or `xoxs-` followed by at least 10 letters/digits/`-` |
//! | `Slack Webhook` | `https://hooks.slack.com/services/` followed by a path |
//! | `Stripe API Key` | `sk_live_`, `sk_test_`, `rk_live_` or `rk_test_` followed by at least 16 letters/digits |
//! | `Google API Key` | `AIza` followed by exactly 35 letters/digits/`_`/`-` |
//! | `Generic Password` / `Generic Secret` | a key ending in `password`, `passwd`, `pwd` (password) or `secret`, `token`, `api_key`, `apikey`, `access_key` (secret), case-insensitive, then `=` or `:` and a value (quotes stripped) of at least 8 characters that is not a reference (`$…`, `{{…`, `%…`, `<…>`), not one repeated character and not a placeholder (`changeme`, `password`, `example`, `placeholder`, `redacted`, `secret`, `xxxxxxxx`, `null`, `none`, `true`, `false`) |

use std::collections::BTreeMap;
use std::io::Read;

use base64::Engine;
use citadel_plugin_sdk::aws::Kind;
use citadel_plugin_sdk::aws::ec2::{
    Instance, InstanceUserData, LaunchTemplate, LaunchTemplateUserData,
};
use citadel_plugin_sdk::{Check, CheckInfo, Finding, Inventory, Severity, Status};

/// One detected secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Secret {
    /// Rule name, e.g. `AWS Access Key ID`.
    pub kind: &'static str,
    /// Line number, from 1.
    pub line: usize,
}

/// Decode user data as EC2 returns it: base64, then gunzip if gzip, then UTF-8.
/// `None` when any step fails.
pub fn decode_user_data(base64_text: &str) -> Option<String> {
    let compact: String = base64_text.chars().filter(|c| !c.is_whitespace()).collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .ok()?;
    let bytes = if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(bytes.as_slice())
            .read_to_end(&mut out)
            .ok()?;
        out
    } else {
        bytes
    };
    String::from_utf8(bytes).ok()
}

/// Scan text for secrets with the rules in this module's documentation.
pub fn scan(text: &str) -> Vec<Secret> {
    let lines: Vec<&str> = text.lines().collect();
    let key_id_lines: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| words(l).any(is_access_key_id))
        .map(|(i, _)| i)
        .collect();
    let mut found = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let before = found.len();
        let mut hit = |kind: &'static str| {
            let s = Secret { kind, line: i + 1 };
            if !found.contains(&s) {
                found.push(s);
            }
        };
        if key_id_lines.contains(&i) {
            hit("AWS Access Key ID");
        }
        let lower = line.to_ascii_lowercase();
        let near_key_id = key_id_lines.iter().any(|k| k.abs_diff(i) <= 3);
        let named = lower.contains("aws") && lower.contains("secret");
        if (near_key_id || named) && words(line).any(is_secret_access_key) {
            hit("AWS Secret Access Key");
        }
        if line.contains("-----BEGIN ") && line.contains("PRIVATE KEY-----") {
            hit("Private Key");
        }
        for w in words(line) {
            if is_github_token(w) {
                hit("GitHub Token");
            }
            if prefixed(w, &["xoxb-", "xoxa-", "xoxp-", "xoxr-", "xoxs-"], 10, |c| {
                c.is_ascii_alphanumeric() || c == '-'
            }) {
                hit("Slack Token");
            }
            if prefixed(
                w,
                &["sk_live_", "sk_test_", "rk_live_", "rk_test_"],
                16,
                |c| c.is_ascii_alphanumeric(),
            ) {
                hit("Stripe API Key");
            }
            if is_google_api_key(w) {
                hit("Google API Key");
            }
        }
        if let Some(at) = line.find("https://hooks.slack.com/services/")
            && line[at + 33..].starts_with(|c: char| c.is_ascii_alphanumeric())
        {
            hit("Slack Webhook");
        }
        // The generic rule only where no specific rule named the line's secret.
        if found.len() == before
            && let Some(kind) = generic_assignment(line)
        {
            found.push(Secret { kind, line: i + 1 });
        }
    }
    found
}

/// Maximal runs of characters that can appear in a token.
fn words(line: &str) -> impl Iterator<Item = &str> {
    line.split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '/' | '+')))
        .filter(|w| !w.is_empty())
}

fn is_access_key_id(w: &str) -> bool {
    w.len() == 20
        && (w.starts_with("AKIA") || w.starts_with("ASIA"))
        && w[4..]
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

fn is_secret_access_key(w: &str) -> bool {
    w.len() == 40
        && w.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '/' || c == '+')
        && w.chars().any(|c| c.is_ascii_digit())
        && w.chars().any(|c| c.is_ascii_lowercase())
        && w.chars().any(|c| c.is_ascii_uppercase())
}

fn is_github_token(w: &str) -> bool {
    prefixed(w, &["ghp_", "gho_", "ghu_", "ghs_", "ghr_"], 36, |c| {
        c.is_ascii_alphanumeric()
    }) || prefixed(w, &["github_pat_"], 22, |c| {
        c.is_ascii_alphanumeric() || c == '_'
    })
}

fn is_google_api_key(w: &str) -> bool {
    // `words` keeps `-`, `_`, `/` and `+`; a key is exactly 39 characters.
    w.len() == 39
        && w.starts_with("AIza")
        && w[4..]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// `w` starts with one of `prefixes` and continues with at least `min`
/// characters, all satisfying `ok`.
fn prefixed(w: &str, prefixes: &[&str], min: usize, ok: impl Fn(char) -> bool) -> bool {
    prefixes.iter().any(|p| {
        w.strip_prefix(p)
            .is_some_and(|rest| rest.len() >= min && rest.chars().all(&ok))
    })
}

const PLACEHOLDERS: &[&str] = &[
    "changeme",
    "password",
    "example",
    "placeholder",
    "redacted",
    "secret",
    "xxxxxxxx",
    "null",
    "none",
    "true",
    "false",
];

/// A `key = value` or `key: value` assignment of a non-trivial value to a
/// password- or secret-like key.
fn generic_assignment(line: &str) -> Option<&'static str> {
    let sep = line.find(['=', ':'])?;
    let key = line[..sep]
        .trim()
        .trim_matches(|c| c == '"' || c == '\'')
        .trim_start_matches("export ")
        .trim()
        .to_ascii_lowercase();
    let kind = if ["password", "passwd", "pwd"]
        .iter()
        .any(|k| key.ends_with(k))
    {
        "Generic Password"
    } else if ["secret", "token", "api_key", "apikey", "access_key"]
        .iter()
        .any(|k| key.ends_with(k))
    {
        "Generic Secret"
    } else {
        return None;
    };
    // A key is one word (no spaces inside), e.g. `DB_PASSWORD` or `"api_key"`.
    if key.is_empty() || key.contains(char::is_whitespace) {
        return None;
    }
    let value = line[sep + 1..]
        .trim()
        .trim_end_matches([',', ';'])
        .trim_matches(|c| c == '"' || c == '\'')
        .trim();
    let value = value.split_whitespace().next().unwrap_or_default();
    let lower = value.to_ascii_lowercase();
    let trivial = value.len() < 8
        || value.starts_with(['$', '%', '<'])
        || value.starts_with("{{")
        || value.chars().all(|c| value.starts_with(c))
        || PLACEHOLDERS.contains(&lower.as_str());
    (!trivial).then_some(kind)
}

/// `{type} on line {n}, …` as in Prowler's texts.
fn listing(secrets: &[Secret]) -> String {
    secrets
        .iter()
        .map(|s| format!("{} on line {}", s.kind, s.line))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `ec2_instance_secrets_user_data`.
pub struct InstanceSecretsUserData;

impl Check for InstanceSecretsUserData {
    fn info(&self) -> CheckInfo {
        CheckInfo::new("ec2_instance_secrets_user_data", "EC2 instance user data contains no secrets", Severity::High)
            .description("User data is readable by anyone who can describe the instance or reach its metadata service; secrets in it leak.")
            .service("ec2")
            .resource_type("AwsEc2Instance")
            .remediation("Move secrets out of user data into Secrets Manager or Parameter Store and rotate the exposed ones.")
            .reads(&[Instance::KIND, InstanceUserData::KIND])
            .requirement("iso27001_2022", &["A.8.20", "A.8.21", "A.8.22"])
            .requirement("nist_csf_2.0", &["ds_5"])
    }

    fn evaluate(&self, inventory: &dyn Inventory) -> Result<Vec<Finding>, String> {
        let data: BTreeMap<(String, String), Option<String>> = inventory
            .typed::<InstanceUserData>()?
            .into_iter()
            .map(|(r, d)| ((r.region, r.id), d.user_data))
            .collect();
        let mut out = Vec::new();
        for (res, i) in inventory.typed::<Instance>()? {
            if i.state.name == "terminated" {
                continue;
            }
            // Not read (the call failed; the agent reports it): no verdict.
            let Some(raw) = data.get(&(res.region.clone(), res.id.clone())) else {
                continue;
            };
            let id = &i.instance_id;
            let Some(raw) = raw.as_deref().filter(|r| !r.trim().is_empty()) else {
                out.push(Finding::pass(
                    &res,
                    format!("No secrets found in EC2 instance {id} since User Data is empty."),
                ));
                continue;
            };
            let Some(text) = decode_user_data(raw) else {
                out.push(Finding::new(
                    &res,
                    Status::Error,
                    format!("Could not decode User Data for EC2 instance {id}; manual review is required to scan for secrets."),
                ));
                continue;
            };
            let secrets = scan(&text);
            out.push(if secrets.is_empty() {
                Finding::pass(
                    &res,
                    format!("No secrets found in EC2 instance {id} User Data."),
                )
            } else {
                Finding::fail(
                    &res,
                    format!(
                        "Potential secret found in EC2 instance {id} User Data -> {}.",
                        listing(&secrets)
                    ),
                )
            });
        }
        Ok(out)
    }
}

/// `ec2_launch_template_no_secrets`.
pub struct LaunchTemplateNoSecrets;

impl Check for LaunchTemplateNoSecrets {
    fn info(&self) -> CheckInfo {
        CheckInfo::new(
            "ec2_launch_template_no_secrets",
            "EC2 launch template user data contains no secrets in any version",
            Severity::High,
        )
        .description("Every version of a launch template keeps its user data, readable by anyone who can describe the template.")
        .service("ec2")
        .resource_type("AwsEc2LaunchTemplate")
        .remediation("Remove secrets from the user data of every version (delete old versions) and rotate the exposed ones.")
        .reads(&[LaunchTemplate::KIND, LaunchTemplateUserData::KIND])
        .requirement("iso27001_2022", &["A.8.20", "A.8.21", "A.8.22"])
    }

    fn evaluate(&self, inventory: &dyn Inventory) -> Result<Vec<Finding>, String> {
        let data: BTreeMap<(String, String), LaunchTemplateUserData> = inventory
            .typed::<LaunchTemplateUserData>()?
            .into_iter()
            .map(|(r, d)| ((r.region, r.id), d))
            .collect();
        let mut out = Vec::new();
        for (res, t) in inventory.typed::<LaunchTemplate>()? {
            let Some(versions) = data.get(&(res.region.clone(), res.id.clone())) else {
                continue;
            };
            let name = &t.launch_template_name;
            let (mut with_secrets, mut undecodable) = (Vec::new(), Vec::new());
            for v in &versions.versions {
                let Some(raw) = v.user_data.as_deref().filter(|r| !r.trim().is_empty()) else {
                    continue;
                };
                match decode_user_data(raw) {
                    None => undecodable.push(v.version_number.to_string()),
                    Some(text) => {
                        let secrets = scan(&text);
                        if !secrets.is_empty() {
                            with_secrets.push(format!(
                                "Version {}: {}",
                                v.version_number,
                                listing(&secrets)
                            ));
                        }
                    }
                }
            }
            out.push(if !with_secrets.is_empty() {
                Finding::fail(
                    &res,
                    format!(
                        "Potential secret found in User Data for EC2 Launch Template {name} in template versions: {}.",
                        with_secrets.join(", ")
                    ),
                )
            } else if !undecodable.is_empty() {
                Finding::new(
                    &res,
                    Status::Error,
                    format!(
                        "Could not decode User Data for EC2 Launch Template {name} versions: {}; manual review is required to scan for secrets.",
                        undecodable.join(", ")
                    ),
                )
            } else {
                Finding::pass(
                    &res,
                    format!("No secrets found in User Data of any version for EC2 Launch Template {name}."),
                )
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests;
