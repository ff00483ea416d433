//! What answers a request no route took: 405 with `Allow` when the path is
//! one of the API's (from the OpenAPI document, so the two cannot drift)
//! and only the method is wrong, 404 otherwise.

use actix_web::dev::ResourceDef;
use actix_web::{HttpRequest, HttpResponse};
use serde_json::Value;

use crate::error::AppError;

pub struct KnownPaths {
    paths: Vec<(ResourceDef, String)>,
}

impl KnownPaths {
    /// The documented paths and their methods (the document has the dev
    /// paths only when they are mounted).
    pub fn from_doc(doc: &Value) -> Self {
        let paths = doc
            .get("paths")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .map(|(path, item)| {
                let allow: Vec<&str> = ["GET", "PUT", "POST", "DELETE", "PATCH"]
                    .into_iter()
                    .filter(|m| item.get(m.to_ascii_lowercase()).is_some())
                    .collect();
                (ResourceDef::new(path.as_str()), allow.join(", "))
            })
            .collect();
        Self { paths }
    }

    /// The answer for `req`, which no route took.
    pub fn answer(&self, req: &HttpRequest) -> Result<HttpResponse, AppError> {
        let path = req.path();
        match self.paths.iter().find(|(def, _)| def.is_match(path)) {
            Some((_, allow)) => Err(AppError::MethodNotAllowed {
                allow: allow.clone(),
            }),
            None => Err(AppError::NotFound("resource")),
        }
    }
}
