//! `conn rename OLD NEW`: a new name, same settings; secrets are keyed by id and stay put.

use anyhow::{Result, bail};

use super::Ctx;
use crate::core::error::usage;
use crate::store::metadata::validate_name;

pub fn run(ctx: &mut Ctx<'_>, old: &str, new: &str) -> Result<()> {
    validate_name(new).map_err(usage)?;
    ctx.metadata().update(|meta| {
        super::find(meta, old)?;
        if meta.connections.contains_key(new) {
            bail!("a connection named {new:?} already exists");
        }
        let mut conn = meta.connections.remove(old).expect("found above");
        conn.updated_at = crate::core::time::now_rfc3339();
        meta.connections.insert(new.to_string(), conn);
        Ok(())
    })
}
