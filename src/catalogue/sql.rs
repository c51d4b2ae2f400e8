//! SQL fragments shared across the catalogue's modules (and the engine code
//! that writes to the catalogue), spelled once: the current time as every
//! `*_at` column stores it, and the resolution of merged individuals.
//! They are pasted into statements with `format!`.

/// The current time as every `*_at` column stores it: UTC, ISO 8601 with
/// milliseconds and a `Z` (`2024-05-01T12:00:00.000Z`), so that timestamps
/// compare and sort as text.
pub(crate) const NOW: &str = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";

/// [`NOW`] moved by the SQLite date modifier bound to `?1` (`'-30 days'`).
pub(crate) const NOW_SHIFTED: &str = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?1)";

/// Individuals resolved through merges: `resolved(start, id)` maps every
/// individual to the one it now counts as.
pub(crate) const RESOLVED_CTE: &str = "WITH RECURSIVE chain(start, id) AS (
         SELECT id, id FROM individuals
         UNION ALL
         SELECT chain.start, i.merged_into FROM chain JOIN individuals i ON i.id = chain.id
         WHERE i.merged_into IS NOT NULL
     ),
     resolved(start, id) AS (
         SELECT chain.start, chain.id FROM chain JOIN individuals i ON i.id = chain.id
         WHERE i.merged_into IS NULL
     )";

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    #[test]
    fn now_is_a_utc_timestamp_with_milliseconds_that_sorts_as_text() {
        let conn = Connection::open_in_memory().unwrap();
        let (now, week_ago): (String, String) = conn
            .query_row(&format!("SELECT {NOW}, {NOW_SHIFTED}"), ["-7 days"], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!(now.len(), "2024-05-01T12:00:00.000Z".len(), "{now}");
        assert_eq!((&now[10..11], &now[19..20], &now[23..]), ("T", ".", "Z"));
        assert!(week_ago < now, "{week_ago} < {now}");
        assert_eq!(&week_ago[10..], &now[10..], "seven days to the millisecond");
    }

    #[test]
    fn resolved_follows_a_chain_of_merges_to_its_end() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE individuals (id INTEGER PRIMARY KEY, merged_into INTEGER);
             INSERT INTO individuals VALUES (1, 2), (2, 3), (3, NULL), (4, NULL);",
        )
        .unwrap();
        let mut stmt = conn
            .prepare(&format!(
                "{RESOLVED_CTE} SELECT start, id FROM resolved ORDER BY start"
            ))
            .unwrap();
        let rows: Vec<(i64, i64)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(rows, [(1, 3), (2, 3), (3, 3), (4, 4)]);
    }
}
