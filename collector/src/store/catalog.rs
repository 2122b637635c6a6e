//! Loading the catalog into the database, idempotently, with an import log.

use std::collections::HashSet;

use serde::Serialize;
use sqlx::Row;

use super::{Store, StoreError, now_ms};
use crate::catalog::Catalog;

/// What one import changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportLog {
    /// Catalog version imported.
    pub version: String,
    /// Rows created (controls, frameworks, requirements, templates).
    pub created: u64,
    /// Rows whose content changed.
    pub updated: u64,
    /// SCF ↔ requirement and template ↔ control mappings added.
    pub mappings_added: u64,
    /// SCF control descriptions loaded from a user-supplied file.
    pub descriptions: u64,
}

/// One import, as the import log kept it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CatalogImportRow {
    /// Catalog version imported.
    pub version: String,
    /// `bundled`, or the SCF catalogue file the descriptions came from.
    pub source: String,
    /// When (Unix ms).
    pub imported_at: i64,
    /// Rows created.
    pub created: i64,
    /// Rows whose content changed.
    pub updated: i64,
    /// Mappings added.
    pub mappings_added: i64,
}

async fn keys(
    conn: &mut sqlx::AnyConnection,
    sql: &'static str,
) -> Result<HashSet<String>, StoreError> {
    let rows = sqlx::query(sql).fetch_all(&mut *conn).await?;
    rows.iter()
        .map(|r| r.try_get::<String, _>(0))
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Into::into)
}

impl Store {
    /// Import `catalog`; optional SCF descriptions as `(scf id, text)`.
    /// Re-importing the same data changes nothing and reports zeros.
    pub async fn import_catalog(
        &self,
        catalog: &Catalog,
        source: &str,
        descriptions: &[(String, String)],
    ) -> Result<ImportLog, StoreError> {
        let mut tx = self.pool.begin().await?;
        let conn: &mut sqlx::AnyConnection = &mut tx;
        let mut log = ImportLog {
            version: catalog.version.clone(),
            ..Default::default()
        };

        let known = keys(conn, "SELECT id FROM frameworks").await?;
        for f in &catalog.frameworks {
            let done = sqlx::query(
                "INSERT INTO frameworks (id, name, version) VALUES ($1, $2, $3)
                 ON CONFLICT (id) DO UPDATE SET name = excluded.name, version = excluded.version
                 WHERE frameworks.name IS DISTINCT FROM excluded.name
                    OR frameworks.version IS DISTINCT FROM excluded.version",
            )
            .bind(f.id)
            .bind(f.name)
            .bind(f.version)
            .execute(&mut *conn)
            .await?;
            count(&mut log, known.contains(f.id), done.rows_affected());
        }

        let known = keys(
            conn,
            "SELECT framework_id || '|' || ref_id FROM requirement_nodes",
        )
        .await?;
        for f in &catalog.frameworks {
            for (position, n) in f.nodes.iter().enumerate() {
                let done = sqlx::query(
                    "INSERT INTO requirement_nodes (framework_id, ref_id, parent_ref_id, name, depth, assessable, position)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)
                     ON CONFLICT (framework_id, ref_id) DO UPDATE SET parent_ref_id = excluded.parent_ref_id,
                         name = excluded.name, depth = excluded.depth, assessable = excluded.assessable,
                         position = excluded.position
                     WHERE requirement_nodes.parent_ref_id IS DISTINCT FROM excluded.parent_ref_id
                        OR requirement_nodes.name IS DISTINCT FROM excluded.name
                        OR requirement_nodes.depth IS DISTINCT FROM excluded.depth
                        OR requirement_nodes.assessable IS DISTINCT FROM excluded.assessable
                        OR requirement_nodes.position IS DISTINCT FROM excluded.position",
                )
                .bind(f.id)
                .bind(&n.ref_id)
                .bind(n.parent.as_deref())
                .bind(n.name.as_deref())
                .bind(n.depth)
                .bind(n.assessable)
                .bind(position as i64)
                .execute(&mut *conn)
                .await?;
                count(
                    &mut log,
                    known.contains(&format!("{}|{}", f.id, n.ref_id)),
                    done.rows_affected(),
                );
            }
        }

        let known = keys(conn, "SELECT id FROM scf_controls").await?;
        for c in &catalog.controls {
            let done = sqlx::query(
                "INSERT INTO scf_controls (id, name, domain_code, domain_name, catalog_version)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (id) DO UPDATE SET name = excluded.name, domain_code = excluded.domain_code,
                     domain_name = excluded.domain_name, catalog_version = excluded.catalog_version
                 WHERE scf_controls.name IS DISTINCT FROM excluded.name
                    OR scf_controls.domain_code IS DISTINCT FROM excluded.domain_code
                    OR scf_controls.domain_name IS DISTINCT FROM excluded.domain_name
                    OR scf_controls.catalog_version IS DISTINCT FROM excluded.catalog_version",
            )
            .bind(&c.id)
            .bind(&c.name)
            .bind(&c.domain_code)
            .bind(&c.domain_name)
            .bind(&catalog.version)
            .execute(&mut *conn)
            .await?;
            count(&mut log, known.contains(&c.id), done.rows_affected());
        }

        for m in &catalog.mappings {
            let done = sqlx::query(
                "INSERT INTO scf_requirement_mappings (scf_id, framework_id, ref_id, relationship, strength, coverage)
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (scf_id, framework_id, ref_id) DO NOTHING",
            )
            .bind(&m.scf_id)
            .bind(m.framework_id)
            .bind(&m.ref_id)
            .bind(m.relationship)
            .bind(m.strength)
            .bind(m.coverage)
            .execute(&mut *conn)
            .await?;
            log.mappings_added += done.rows_affected();
        }

        let known = keys(conn, "SELECT id FROM policy_templates").await?;
        for t in &catalog.templates {
            let done = sqlx::query(
                "INSERT INTO policy_templates (id, title, summary, body, version) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (id) DO UPDATE SET title = excluded.title, summary = excluded.summary,
                     body = excluded.body, version = excluded.version
                 WHERE policy_templates.title IS DISTINCT FROM excluded.title
                    OR policy_templates.summary IS DISTINCT FROM excluded.summary
                    OR policy_templates.body IS DISTINCT FROM excluded.body",
            )
            .bind(&t.id)
            .bind(&t.title)
            .bind(&t.summary)
            .bind(&t.body)
            .bind(&catalog.version)
            .execute(&mut *conn)
            .await?;
            count(&mut log, known.contains(&t.id), done.rows_affected());
            for scf in &t.scf {
                let done = sqlx::query(
                    "INSERT INTO policy_template_controls (template_id, scf_id) VALUES ($1, $2)
                     ON CONFLICT (template_id, scf_id) DO NOTHING",
                )
                .bind(&t.id)
                .bind(scf)
                .execute(&mut *conn)
                .await?;
                log.mappings_added += done.rows_affected();
            }
        }

        for (id, text) in descriptions {
            let done = sqlx::query(
                "UPDATE scf_controls SET description = $1 WHERE id = $2 AND description IS DISTINCT FROM $1",
            )
            .bind(text)
            .bind(id)
            .execute(&mut *conn)
            .await?;
            log.descriptions += done.rows_affected();
        }

        sqlx::query(
            "INSERT INTO catalog_imports (version, source, imported_at, created, updated, mappings_added, detail)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&catalog.version)
        .bind(source)
        .bind(now_ms())
        .bind(log.created as i64)
        .bind(log.updated as i64)
        .bind(log.mappings_added as i64)
        .bind(serde_json::to_string(&log).expect("log serializes"))
        .execute(&mut *conn)
        .await?;
        tx.commit().await?;
        Ok(log)
    }

    /// Whether catalog `version` has been imported.
    pub async fn catalog_imported(&self, version: &str) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) FROM catalog_imports WHERE version = $1")
            .bind(version)
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get::<i64, _>(0)? > 0)
    }

    /// The import log, oldest first.
    pub async fn catalog_imports(&self) -> Result<Vec<CatalogImportRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT version, source, imported_at, created, updated, mappings_added FROM catalog_imports ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(CatalogImportRow {
                    version: r.try_get(0)?,
                    source: r.try_get(1)?,
                    imported_at: r.try_get(2)?,
                    created: r.try_get(3)?,
                    updated: r.try_get(4)?,
                    mappings_added: r.try_get(5)?,
                })
            })
            .collect()
    }
}

fn count(log: &mut ImportLog, existed: bool, affected: u64) {
    match (existed, affected) {
        (false, n) if n > 0 => log.created += 1,
        (true, n) if n > 0 => log.updated += 1,
        _ => {}
    }
}
