//! Records a form or a client names: a form carries an id made when it was
//! shown (`form_id`), an API request may carry one, so that the same record
//! sent twice (a double click, a retry after a lost answer) is written once,
//! while other content under that id (a form kept open, changed and sent
//! again, or someone else's id) is written under a new id and nothing sent
//! is lost. The slices keep their own tables; this is the one rule.

use std::future::Future;

use crate::Result;
use crate::envelope::parse_message_id;

/// A new record id.
pub fn fresh() -> String {
    uuid::Uuid::new_v4().hyphenated().to_string()
}

/// The id a form or a client named (it must be a UUID; `field` names it in
/// the error), or a new one when none was named.
pub fn named_or_new(field: &str, id: &str) -> Result<String> {
    if id.is_empty() {
        Ok(fresh())
    } else {
        parse_message_id(field, id)
    }
}

/// Writes a record once under `id` (from [`named_or_new`]): `insert(id)`
/// writes it unless the id is taken and says whether it wrote it; `same(id)`
/// says whether the record under a taken id is this one sent again. Sent
/// again, nothing more is written; taken by other content, the record is
/// written under a fresh id. Returns the id the record has.
pub async fn write_once<E, I, IF, S, SF>(id: String, insert: I, same: S) -> Result<String, E>
where
    I: Fn(String) -> IF,
    IF: Future<Output = Result<bool, E>>,
    S: FnOnce(String) -> SF,
    SF: Future<Output = Result<bool, E>>,
{
    if insert(id.clone()).await? || same(id.clone()).await? {
        return Ok(id);
    }
    let id = fresh();
    insert(id.clone()).await?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::collections::HashMap;

    /// A table of (id → content): writes once, a second time under the
    /// same id only as a fresh id when the content differs.
    #[test]
    fn the_same_record_is_written_once_and_other_content_anew() {
        let table: RefCell<HashMap<String, &str>> = RefCell::default();
        let write = |id: String, content: &'static str| {
            let table = &table;
            let rt = tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap();
            rt.block_on(write_once::<crate::Error, _, _, _, _>(
                id,
                |id| async move {
                    let mut t = table.borrow_mut();
                    if t.contains_key(&id) {
                        return Ok(false);
                    }
                    t.insert(id, content);
                    Ok(true)
                },
                |id| async move { Ok(table.borrow().get(&id) == Some(&content)) },
            ))
            .unwrap()
        };
        let named = named_or_new("id", &fresh()).unwrap();
        assert_eq!(write(named.clone(), "minutes"), named);
        assert_eq!(write(named.clone(), "minutes"), named, "sent again");
        let other = write(named.clone(), "changed minutes");
        assert_ne!(other, named, "other content: its own id");
        assert_eq!(table.borrow().len(), 2);
        assert_eq!(table.borrow()[&named], "minutes", "the first unchanged");
        assert!(named_or_new("id", "../x").is_err());
        assert!(!named_or_new("id", "").unwrap().is_empty());
    }
}
