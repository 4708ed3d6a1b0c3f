//! Routes, declared once: each resource file declares its own routes beside its
//! handlers (`pub fn routes(r: &mut Routes)`), and the same declaration both
//! registers them with actix-web and fills the route table that the OpenAPI
//! drift test, authentication (which paths are open) and the tests that cover
//! every route read.

use actix_web::http::Method;
use actix_web::{web, FromRequest, Handler, Resource, Responder};

use crate::error::ApiError;

/// One route as declared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The full, canonical path template (`/api/v1/webhooks/{id}`).
    pub path: &'static str,
    /// The methods it serves; empty means any method.
    pub methods: Vec<Method>,
    /// Served without a token when auth is on (health checks, metrics, the
    /// OpenAPI document).
    pub open: bool,
}

impl Route {
    /// `GET, POST`, as the `Allow` header lists them; `*` for any method.
    pub fn allow(&self) -> String {
        if self.methods.is_empty() {
            return "*".into();
        }
        let names: Vec<&str> = self.methods.iter().map(Method::as_str).collect();
        names.join(", ")
    }
}

/// Where routes are declared: into an actix-web `ServiceConfig` (serving), or
/// only into the table.
pub struct Routes<'a> {
    cfg: Option<&'a mut web::ServiceConfig>,
    table: Vec<Route>,
    sandbox: bool,
    dashboard: bool,
}

/// What decides which declared routes are served.
#[derive(Debug, Clone, Copy)]
pub struct Serving {
    /// `[sandbox] enabled`: the `/sandbox/` routes.
    pub sandbox: bool,
    /// `[dashboard] enabled` (with auth on, its pages need a session).
    pub dashboard: bool,
}

impl<'a> Routes<'a> {
    /// Declares into `cfg`: the routes `serving` allows are registered.
    pub fn serve(cfg: &'a mut web::ServiceConfig, serving: Serving) -> Self {
        Self {
            cfg: Some(cfg),
            table: Vec::new(),
            sandbox: serving.sandbox,
            dashboard: serving.dashboard,
        }
    }

    /// Declares into the table only: every route, as if all were served.
    pub fn table_only() -> Self {
        Self {
            cfg: None,
            table: Vec::new(),
            sandbox: true,
            dashboard: true,
        }
    }

    /// Every route declared so far, served or not.
    pub fn into_table(self) -> Vec<Route> {
        self.table
    }

    /// Whether the sandbox routes are served.
    pub fn sandbox(&self) -> bool {
        self.sandbox
    }

    /// Whether the dashboard is served.
    pub fn dashboard(&self) -> bool {
        self.dashboard
    }

    /// Starts declaring the resource at `path` (full and canonical). Methods it
    /// does not serve get `405` with an `Allow` header.
    pub fn resource(&mut self, path: &'static str) -> Declare<'_, 'a> {
        Declare {
            route: Route {
                path,
                methods: Vec::new(),
                open: false,
            },
            resource: Some(web::resource(path)),
            served: true,
            routes: self,
        }
    }
}

/// `Declare::get(handler)` and its siblings: one method each, all alike.
macro_rules! methods {
    ($($name:ident => $method:ident),* $(,)?) => {
        $(
            pub fn $name<F, Args>(self, handler: F) -> Self
            where
                F: Handler<Args>,
                Args: FromRequest + 'static,
                F::Output: Responder + 'static,
            {
                self.method(Method::$method, handler)
            }
        )*
    };
}

/// One resource being declared; it is registered when dropped.
pub struct Declare<'r, 'a> {
    routes: &'r mut Routes<'a>,
    route: Route,
    resource: Option<Resource>,
    served: bool,
}

impl Declare<'_, '_> {
    fn method<F, Args>(mut self, method: Method, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.resource = self
            .resource
            .take()
            .map(|r| r.route(web::method(method.clone()).to(handler)));
        self.route.methods.push(method);
        self
    }

    methods! {
        get => GET,
        post => POST,
        put => PUT,
        patch => PATCH,
        delete => DELETE,
    }

    /// Every method goes to `handler` (the capture inbox).
    pub fn any<F, Args>(mut self, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.resource = self.resource.take().map(|r| r.to(handler));
        self
    }

    /// Served without a token.
    pub fn open(mut self) -> Self {
        self.route.open = true;
        self
    }

    /// Declared (in the table and the OpenAPI document) but served only when `on`.
    pub fn served_if(mut self, on: bool) -> Self {
        self.served = on;
        self
    }
}

impl Drop for Declare<'_, '_> {
    fn drop(&mut self) {
        let route = self.route.clone();
        if let (Some(cfg), Some(mut resource), true) = (
            self.routes.cfg.as_deref_mut(),
            self.resource.take(),
            self.served,
        ) {
            if !route.methods.is_empty() {
                let allow = route.allow();
                resource = resource.default_service(web::to(move || {
                    let allow = allow.clone();
                    async move {
                        Err::<actix_web::HttpResponse, _>(ApiError::MethodNotAllowed { allow })
                    }
                }));
            }
            cfg.service(resource);
        }
        self.routes.table.push(route);
    }
}
