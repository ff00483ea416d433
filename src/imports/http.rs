//! Calendar import routes, for the property's host.

use actix_web::{HttpResponse, delete, get, post, web};
use uuid::Uuid;

use super::{ImportInput, ImportList, ImportView};
use crate::error::AppError;
use crate::http::extract::{ApiJson, AuthUser};
use crate::services::Services;

/// Adds an iCal feed (`http` or `https`) to the property and syncs it at
/// once; the answer says how that went (`status`, `last_error`,
/// `conflicts`). Refreshed every 15 minutes after.
#[utoipa::path(tag = "properties", security(("bearer" = [])), params(("id" = Uuid, Path)),
    request_body = ImportInput,
    responses((status = 201, body = ImportView),
        (status = 403, description = "not the host"),
        (status = 404, description = "unknown or unlisted property"),
        (status = 409, description = "the property has 20 imports already"),
        (status = 422, description = "not an http(s) URL, or an address that is not allowed")))]
#[post("/properties/{id}/calendar-imports")]
pub async fn create_import(
    svc: web::Data<Services>,
    user: AuthUser,
    id: web::Path<Uuid>,
    body: ApiJson<ImportInput>,
) -> Result<HttpResponse, AppError> {
    let import = svc.imports.create(user.id, *id, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(ImportView::from(import)))
}

/// The property's imports, each with its last sync.
#[utoipa::path(tag = "properties", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = ImportList),
        (status = 403, description = "not the host"),
        (status = 404, description = "unknown or unlisted property")))]
#[get("/properties/{id}/calendar-imports")]
pub async fn list_imports(
    svc: web::Data<Services>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, AppError> {
    let imports = svc.imports.list(user.id, *id).await?;
    Ok(HttpResponse::Ok().json(ImportList {
        data: imports.into_iter().map(ImportView::from).collect(),
    }))
}

/// Removes the import; its blocks are removed with it.
#[utoipa::path(tag = "properties", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("import_id" = Uuid, Path)),
    responses((status = 204, description = "removed"),
        (status = 403, description = "not the host"),
        (status = 404, description = "unknown property or import")))]
#[delete("/properties/{id}/calendar-imports/{import_id}")]
pub async fn remove_import(
    svc: web::Data<Services>,
    user: AuthUser,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, AppError> {
    let (id, import_id) = path.into_inner();
    svc.imports.delete(user.id, id, import_id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Syncs the import now.
#[utoipa::path(tag = "properties", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("import_id" = Uuid, Path)),
    responses((status = 200, body = ImportView),
        (status = 403, description = "not the host"),
        (status = 404, description = "unknown property or import")))]
#[post("/properties/{id}/calendar-imports/{import_id}/refresh")]
pub async fn refresh_import(
    svc: web::Data<Services>,
    user: AuthUser,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, AppError> {
    let (id, import_id) = path.into_inner();
    let import = svc.imports.refresh(user.id, id, import_id).await?;
    Ok(HttpResponse::Ok().json(ImportView::from(import)))
}
