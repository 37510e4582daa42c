"""The HTTP surface of the operations service: one module of routes per domain, over the services.

`app.create_app` builds the FastAPI application; `deps` holds what every route shares (the caller, role
and scope checks); `errors` turns every error into the catalogue's JSON body. The services (`yibao.ops`,
`yibao.mutual_aid`, `yibao.contracts`) import nothing from here.
"""
