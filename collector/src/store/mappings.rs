//! Control → requirement mappings: those ingest derives (origin `auto`,
//! source `scf` or `check`) and those people add (origin and source
//! `manual`, coverage `full`). Only manual ones can be removed; ingest never
//! removes any, so a manual mapping survives every rescan.

use serde::Serialize;
use sqlx::Row;

use super::audit::append;
use super::page::PageRequest;
use super::{Store, StoreError};
use crate::audit::{Action, Context, Event};
use crate::auth::TenantAccess;
use crate::store::sql::{Filter, scope_frameworks};

/// One mapping.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct MappingRow {
    /// Applied control id.
    pub control_id: i64,
    /// Its key.
    pub control_key: String,
    /// Its name.
    pub control_name: String,
    /// Framework id.
    pub framework_id: String,
    /// Requirement id.
    pub ref_id: String,
    /// `auto` | `manual`.
    pub origin: String,
    /// `scf` | `check` | `manual`.
    pub source: String,
    /// `full` | `partial`.
    pub coverage: String,
}

impl MappingRow {
    /// The listing's sort key after the control id (see [`Store::mappings`]).
    pub fn sort_key(&self) -> String {
        format!("{}|{}|{}", self.framework_id, self.ref_id, self.source)
    }
}

/// Filters of the mapping listing.
#[derive(Debug, Clone, Default)]
pub struct MappingFilter {
    /// Framework id.
    pub framework: Option<String>,
    /// Requirement id.
    pub requirement: Option<String>,
    /// Applied control id.
    pub control: Option<i64>,
}

/// The key of one mapping (control, framework, requirement).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingKey {
    /// Applied control id.
    pub control_id: i64,
    /// Framework id.
    pub framework: String,
    /// Requirement id.
    pub requirement: String,
}

const COLUMNS: &str =
    "m.applied_control_id, c.key, c.name, m.framework_id, m.ref_id, m.origin, m.source, m.coverage";

/// The listing's order after the control: one text, so that a page starts
/// after a cursor the same way on both databases.
const SORT: &str = "m.framework_id || '|' || m.ref_id || '|' || m.source";

fn mapping_row(r: &sqlx::any::AnyRow) -> Result<MappingRow, StoreError> {
    Ok(MappingRow {
        control_id: r.try_get(0)?,
        control_key: r.try_get(1)?,
        control_name: r.try_get(2)?,
        framework_id: r.try_get(3)?,
        ref_id: r.try_get(4)?,
        origin: r.try_get(5)?,
        source: r.try_get(6)?,
        coverage: r.try_get(7)?,
    })
}

fn audit_id(k: &MappingKey) -> String {
    format!("{}:{}:{}", k.control_id, k.framework, k.requirement)
}

impl Store {
    /// A page of the tenant's mappings (auto and manual) by control, then
    /// framework, requirement and source; auditors see their frameworks'.
    pub async fn mappings(
        &self,
        t: &TenantAccess,
        filter: &MappingFilter,
        page: &PageRequest,
    ) -> Result<Vec<MappingRow>, StoreError> {
        let mut f = Filter::default();
        let tenant = f.arg(t.id());
        f.and(format!("c.tenant_id = {tenant}"));
        if let Some(frameworks) = scope_frameworks(t) {
            let list = f.list(&frameworks);
            f.and(format!("m.framework_id IN {list}"));
        }
        if let Some(fw) = &filter.framework {
            let fw = f.arg(fw.as_str());
            f.and(format!("m.framework_id = {fw}"));
        }
        if let Some(r) = &filter.requirement {
            let r = f.arg(r.as_str());
            f.and(format!("m.ref_id = {r}"));
        }
        if let Some(c) = filter.control {
            let c = f.arg(c);
            f.and(format!("m.applied_control_id = {c}"));
        }
        if let Some(after) = &page.after {
            let id = f.arg(after.id);
            let k = f.arg(after.key.clone().unwrap_or_default());
            f.and(format!(
                "(m.applied_control_id > {id} OR (m.applied_control_id = {id} AND {SORT} > {k}))"
            ));
        }
        let sql = format!(
            "SELECT {COLUMNS} FROM control_requirement_mappings m
             JOIN applied_controls c ON c.id = m.applied_control_id
             WHERE {} ORDER BY m.applied_control_id, {SORT} LIMIT {}",
            f.sql(),
            page.fetch()
        );
        let rows = f.query(sql).fetch_all(&self.pool).await?;
        rows.iter().map(mapping_row).collect()
    }

    /// Map one of the tenant's controls to a requirement by hand, with its
    /// audit row. [`StoreError::Invalid`] when the control or requirement
    /// does not exist, [`StoreError::Exists`] when the manual mapping does.
    pub async fn add_mapping(
        &self,
        ctx: &Context,
        t: &TenantAccess,
        key: &MappingKey,
    ) -> Result<MappingRow, StoreError> {
        let mut tx = self.begin_write().await?;
        let control =
            sqlx::query("SELECT key, name FROM applied_controls WHERE id = $1 AND tenant_id = $2")
                .bind(key.control_id)
                .bind(t.id())
                .fetch_optional(&mut *tx)
                .await?
                .ok_or_else(|| {
                    StoreError::Invalid(format!("no control {} in this tenant", key.control_id))
                })?;
        sqlx::query("SELECT 1 FROM requirement_nodes WHERE framework_id = $1 AND ref_id = $2")
            .bind(&key.framework)
            .bind(&key.requirement)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| {
                StoreError::Invalid(format!(
                    "{} has no requirement {:?}",
                    key.framework, key.requirement
                ))
            })?;
        let done = sqlx::query(
            "INSERT INTO control_requirement_mappings (applied_control_id, framework_id, ref_id,
                 origin, source, coverage)
             VALUES ($1, $2, $3, 'manual', 'manual', 'full') ON CONFLICT DO NOTHING",
        )
        .bind(key.control_id)
        .bind(&key.framework)
        .bind(&key.requirement)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Exists("this manual mapping".into()));
        }
        let row = MappingRow {
            control_id: key.control_id,
            control_key: control.try_get(0)?,
            control_name: control.try_get(1)?,
            framework_id: key.framework.clone(),
            ref_id: key.requirement.clone(),
            origin: "manual".into(),
            source: "manual".into(),
            coverage: "full".into(),
        };
        append(
            &mut tx,
            ctx,
            &Event::new(
                Action::MappingAdded,
                "control_requirement_mapping",
                audit_id(key),
            )
            .tenant(t.id())
            .after(&row),
        )
        .await?;
        tx.commit().await?;
        self.committed();
        Ok(row)
    }

    /// Remove a manual mapping, with its audit row. [`StoreError::Refused`]
    /// when only automatic ones join the two, [`StoreError::NotFound`] when
    /// none does.
    pub async fn remove_mapping(
        &self,
        ctx: &Context,
        t: &TenantAccess,
        key: &MappingKey,
    ) -> Result<MappingRow, StoreError> {
        let mut tx = self.begin_write().await?;
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM control_requirement_mappings m
             JOIN applied_controls c ON c.id = m.applied_control_id
             WHERE c.tenant_id = $1 AND m.applied_control_id = $2 AND m.framework_id = $3
                 AND m.ref_id = $4"
        )))
        .bind(t.id())
        .bind(key.control_id)
        .bind(&key.framework)
        .bind(&key.requirement)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(mapping_row)
        .collect::<Result<Vec<_>, _>>()?;
        let Some(manual) = rows.iter().find(|m| m.origin == "manual").cloned() else {
            return Err(if rows.is_empty() {
                StoreError::NotFound
            } else {
                StoreError::Refused(
                    "automatic mappings come from scans and cannot be removed".into(),
                )
            });
        };
        sqlx::query(
            "DELETE FROM control_requirement_mappings
             WHERE applied_control_id = $1 AND framework_id = $2 AND ref_id = $3 AND origin = 'manual'",
        )
        .bind(key.control_id)
        .bind(&key.framework)
        .bind(&key.requirement)
        .execute(&mut *tx)
        .await?;
        append(
            &mut tx,
            ctx,
            &Event::new(
                Action::MappingRemoved,
                "control_requirement_mapping",
                audit_id(key),
            )
            .tenant(t.id())
            .before(&manual),
        )
        .await?;
        tx.commit().await?;
        self.committed();
        Ok(manual)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::page::Cursor;
    use crate::store::testing::{Fixture, on_both_databases};

    async fn manual_mappings_add_and_remove(mut f: Fixture) {
        f.scan(2).await;
        let store = f.store();
        let admin = f.admin();
        let ctx = f.operator_ctx(9_000);
        let control = f.control_id("req:soc2:cc_7_2").await;
        let of_control = MappingFilter {
            control: Some(control),
            ..Default::default()
        };
        let before = store
            .mappings(&admin, &of_control, &PageRequest::first(100))
            .await
            .unwrap();
        assert_eq!(before.len(), 1, "{before:?}");
        assert_eq!(
            (before[0].framework_id.as_str(), before[0].ref_id.as_str()),
            ("soc2", "CC7.2")
        );
        assert_eq!(
            (before[0].origin.as_str(), before[0].source.as_str()),
            ("auto", "check")
        );

        let key = MappingKey {
            control_id: control,
            framework: "iso27001_2022".into(),
            requirement: "A.8.15".into(),
        };
        let added = store.add_mapping(&ctx, &admin, &key).await.unwrap();
        assert_eq!(
            (added.origin.as_str(), added.coverage.as_str()),
            ("manual", "full")
        );
        let after = store
            .mappings(&admin, &of_control, &PageRequest::first(100))
            .await
            .unwrap();
        assert_eq!(after.len(), 2);
        assert!(after.contains(&added));
        assert!(matches!(
            store.add_mapping(&ctx, &admin, &key).await,
            Err(StoreError::Exists(_))
        ));
        for bad in [
            MappingKey {
                requirement: "A.99.99".into(),
                ..key.clone()
            },
            MappingKey {
                control_id: control + 10_000,
                ..key.clone()
            },
        ] {
            assert!(matches!(
                store.add_mapping(&ctx, &admin, &bad).await,
                Err(StoreError::Invalid(_))
            ));
        }
        let rows = f.audit(Action::MappingAdded).await;
        assert_eq!(rows.len(), 1);
        assert!(rows[0].before_json.is_none());
        let logged: serde_json::Value =
            serde_json::from_str(rows[0].after_json.as_deref().unwrap()).unwrap();
        assert_eq!(logged["ref_id"], "A.8.15");

        // Automatic mappings stay; the manual one goes, once.
        let auto = MappingKey {
            control_id: control,
            framework: "soc2".into(),
            requirement: "CC7.2".into(),
        };
        assert!(matches!(
            store.remove_mapping(&ctx, &admin, &auto).await,
            Err(StoreError::Refused(_))
        ));
        let removed = store.remove_mapping(&ctx, &admin, &key).await.unwrap();
        assert_eq!(removed, added);
        assert!(matches!(
            store.remove_mapping(&ctx, &admin, &key).await,
            Err(StoreError::NotFound)
        ));
        let rows = f.audit(Action::MappingRemoved).await;
        assert_eq!(rows.len(), 1);
        assert!(rows[0].after_json.is_none());
        assert!(rows[0].before_json.as_deref().unwrap().contains("A.8.15"));
        assert_eq!(
            store
                .mappings(&admin, &of_control, &PageRequest::first(100))
                .await
                .unwrap(),
            before
        );

        // Pages of 7 walk the whole listing in its order.
        let all = store
            .mappings(&admin, &MappingFilter::default(), &PageRequest::first(500))
            .await
            .unwrap();
        assert!(all.len() > 7 && all.len() <= 500, "{}", all.len());
        let mut walked = Vec::new();
        let mut page = PageRequest::first(7);
        loop {
            let mut rows = store
                .mappings(&admin, &MappingFilter::default(), &page)
                .await
                .unwrap();
            let more = rows.len() > 7;
            rows.truncate(7);
            let last = rows.last().cloned();
            walked.extend(rows);
            match last {
                Some(last) if more => {
                    page.after = Some(Cursor {
                        key: Some(last.sort_key()),
                        id: last.control_id,
                    })
                }
                _ => break,
            }
        }
        assert_eq!(walked, all);

        // Filters and an auditor's frameworks.
        let pci = f.auditor(&["pci_dss_4.0.1"], i64::MIN, i64::MAX);
        let seen = store
            .mappings(&pci, &MappingFilter::default(), &PageRequest::first(500))
            .await
            .unwrap();
        assert!(!seen.is_empty());
        assert!(seen.iter().all(|m| m.framework_id == "pci_dss_4.0.1"));
        let soc2 = MappingFilter {
            framework: Some("soc2".into()),
            requirement: Some("CC7.2".into()),
            ..Default::default()
        };
        assert!(
            store
                .mappings(&pci, &soc2, &PageRequest::first(10))
                .await
                .unwrap()
                .is_empty()
        );
        let found = store
            .mappings(&admin, &soc2, &PageRequest::first(10))
            .await
            .unwrap();
        assert!(found.iter().any(|m| m.control_id == control));
        assert!(found.iter().all(|m| m.ref_id == "CC7.2"));
    }

    on_both_databases!(manual_mappings_add_and_remove);
}
