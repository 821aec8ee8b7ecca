"""The dlt side of the end-to-end benchmark: `rest_api_source` into PostgreSQL, merge on the keys.

Runs in its own environment (`.venv-dlt`, made by `make bench-e2e`): dlt is a benchmark-only
dependency. The REST configuration follows the APIs' own documents, which describe each API as a
dlt `rest_api_source`: the resources, paths, data selectors, paginators and primary keys are the
documents'. Where a document leaves something to the reader, the choice is the one the taps make:

- API e: offset/limit 100 with no `total` in the body, so paging stops at the first empty page
  (the tap stops there too); client-credentials grant.
- API a: no pagination; the token comes from a refresh-token grant (dlt has no such auth type, so
  its client-credentials auth is given `grant_type=refresh_token` in the token request body); the
  `{workspace}` placeholder is filled from each workspace's `workspaceId`; `workspace_users` is
  keyed on the workspace as well as `emailId` (the same user is a member of several workspaces, and
  a merge on `emailId` alone would collapse them); every resource `parallelized`.

Usage: dlt_load.py API CONFIG_JSON DSN DATASET PIPELINES_DIR STREAM[,STREAM...]
(CONFIG_JSON: the tap's config, base_url and credentials; prints the rows loaded per table as JSON.)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import dlt
from dlt.sources.rest_api import rest_api_source


def single_page(name: str, path: str, selector: str, key: str | list[str]) -> dict[str, Any]:
    return {
        "name": name,
        "primary_key": key,
        "endpoint": {"path": path, "data_selector": selector, "paginator": "single_page"},
    }


def per_workspace(name: str, leaf: str, selector: str, key: str | list[str]) -> dict[str, Any]:
    resource = single_page(name, f"/v1/workspaces/{{workspace}}/{leaf}", selector, key)
    resource["endpoint"]["params"] = {
        "workspace": {"type": "resolve", "resource": "workspaces", "field": "workspaceId"}
    }
    resource["include_from_parent"] = ["workspaceId"]
    return resource


def api_a(config: dict[str, Any]) -> dict[str, Any]:
    return {
        "client": {
            "base_url": config["base_url"],
            "auth": {
                "type": "oauth2_client_credentials",
                "access_token_url": config["token_url"],
                "client_id": config["client_id"],
                "client_secret": config["client_secret"],
                "access_token_request_data": {
                    "grant_type": "refresh_token",
                    "refresh_token": config["refresh_token"],
                },
            },
        },
        "resource_defaults": {"write_disposition": "merge", "parallelized": True},
        "resources": [
            single_page("users", "/v1/users", "data.users", "emailId"),
            single_page("workspaces", "/v1/workspaces", "data.ownedWorkspaces", "workspaceId"),
            single_page("organizations", "/v1/orgs", "data.orgs", "orgId"),
            single_page("dashboards", "/v1/dashboards", "data.ownedViews", "viewId"),
            per_workspace("views", "views", "data.views", "viewId"),
            per_workspace("trash", "trash", "data.views", "viewId"),
            # dlt names the parent's field `_workspaces_workspace_id` in the child's rows.
            per_workspace("workspace_users", "users", "data.users", ["_workspaces_workspace_id", "emailId"]),
            per_workspace("folders", "folders", "data.folders", "folderId"),
        ],
    }


def api_e(config: dict[str, Any]) -> dict[str, Any]:
    def offset_list(name: str) -> dict[str, Any]:
        paginator = {"type": "offset", "limit": 100, "total_path": None, "stop_after_empty_page": True}
        return {
            "name": name,
            "endpoint": {"path": f"/v1/{name}", "data_selector": "data", "paginator": paginator},
        }

    return {
        "client": {
            "base_url": config["base_url"],
            "auth": {
                "type": "oauth2_client_credentials",
                "access_token_url": config["token_url"],
                "client_id": config["client_id"],
                "client_secret": config["client_secret"],
            },
        },
        "resource_defaults": {"primary_key": "id", "write_disposition": "merge"},
        "resources": [offset_list(name) for name in ("blocks", "databases", "pages", "users")],
    }


def main(argv: list[str]) -> int:
    api, config_path, dsn, dataset, pipelines_dir, streams = argv
    config = json.loads(Path(config_path).read_text())
    rest_config = {"a": api_a, "e": api_e}[api](config)
    source = rest_api_source(rest_config).with_resources(*streams.split(","))
    pipeline = dlt.pipeline(
        pipeline_name=f"bench_{api}",
        destination=dlt.destinations.postgres(credentials=dsn),
        dataset_name=dataset,
        pipelines_dir=pipelines_dir,
    )
    pipeline.run(source)
    with pipeline.sql_client() as client:
        counts = {
            name: client.execute_sql(f'select count(*) from {dataset}."{name}"')[0][0]
            for name in streams.split(",")
        }
    print(json.dumps(counts))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
