"""The baseline: a plain requests loop paging through one endpoint, one JSON line per record."""

from __future__ import annotations

import json
import sys

import requests


def main(base_url: str, token_url: str, path: str, limit: int = 100) -> int:
    session = requests.Session()
    token = session.post(
        token_url,
        data={
            "grant_type": "client_credentials",
            "client_id": "sandbox-client",
            "client_secret": "sandbox-secret",
        },
        timeout=60,
    ).json()["access_token"]
    session.headers["Authorization"] = f"Bearer {token}"
    offset = count = 0
    with open("/dev/null", "w") as sink:
        while True:
            page = session.get(f"{base_url}{path}", params={"offset": offset, "limit": limit}, timeout=60)
            page.raise_for_status()
            records = page.json()["data"]
            for record in records:
                sink.write(json.dumps(record) + "\n")
            count += len(records)
            offset += len(records)
            if len(records) < limit:
                return count


if __name__ == "__main__":
    print(main(sys.argv[1], sys.argv[2], sys.argv[3]))
