//! What answers a request no route took: 405 with `Allow` when the path is
//! one of the API's (from the OpenAPI document, so the two cannot drift)
//! and only the method is wrong, 404 otherwise.

use actix_web::dev::ResourceDef;
use actix_web::{HttpRequest, HttpResponse};
use utoipa::openapi::OpenApi;

use crate::error::AppError;

pub struct KnownPaths {
    paths: Vec<(ResourceDef, String)>,
}

impl KnownPaths {
    /// The documented paths and their methods; the dev paths only when
    /// they are mounted.
    pub fn from_doc(doc: &OpenApi, dev_routes: bool) -> Self {
        let paths = doc
            .paths
            .paths
            .iter()
            .filter(|(path, _)| dev_routes || !path.starts_with("/api/v1/dev/"))
            .map(|(path, item)| {
                let methods = [
                    ("GET", item.get.is_some()),
                    ("PUT", item.put.is_some()),
                    ("POST", item.post.is_some()),
                    ("DELETE", item.delete.is_some()),
                    ("PATCH", item.patch.is_some()),
                ];
                let allow: Vec<&str> = methods
                    .iter()
                    .filter(|(_, has)| *has)
                    .map(|(m, _)| *m)
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
