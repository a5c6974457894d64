"""The OASIS TAXII 2.1 client (taxii2-client) against `tocsin serve`.

Run by tests/it/taxii.rs with the STIX venv's python:
    python taxii_client.py URL TOKEN COLLECTION_ID
The collection holds 1,050 objects, 500 of them added at one date. Every
check prints what failed and exits non-zero; the last line is "ok".
"""

import sys
from collections import Counter

import requests
from taxii2client.v21 import Server, as_pages

MEDIA = "application/taxii+json;version=2.1"


class Bearer(requests.auth.AuthBase):
    def __init__(self, token):
        self.token = token

    def __call__(self, r):
        r.headers["Authorization"] = "Bearer " + self.token
        return r


def check(cond, what):
    if not cond:
        print("FAILED: " + what)
        sys.exit(1)


def main():
    url, token, collection_id = sys.argv[1], sys.argv[2], sys.argv[3]
    auth = Bearer(token)

    # Discovery -> API root -> collections (the client checks the
    # Content-Type of every answer itself, and raises when it is wrong).
    server = Server(url + "/taxii2/", auth=auth)
    check(server.title == "tocsin", "discovery title")
    check(len(server.api_roots) == 1, "one API root")
    root = server.default
    check(root is not None, "a default API root")
    check(MEDIA in root.versions, "the API root speaks TAXII 2.1")
    ids = [c.id for c in root.collections]
    check(collection_id in ids, "the collection is listed: %s" % ids)
    collection = [c for c in root.collections if c.id == collection_id][0]
    check(collection.can_read, "can_read")

    # Paging 100 at a time: exactly 1,050 unique ids.
    seen = []
    pages = 0
    for envelope in as_pages(collection.get_objects, per_request=100):
        pages += 1
        got = envelope.get("objects", [])
        check(len(got) <= 100, "a page of at most 100")
        seen.extend(o["id"] for o in got)
    check(len(seen) == 1050, "1,050 objects, got %d" % len(seen))
    check(len(set(seen)) == 1050, "1,050 unique ids, got %d" % len(set(seen)))
    check(pages == 11, "11 pages, got %d" % pages)

    # The manifest says 500 of them share one date_added.
    dates = Counter()
    for envelope in as_pages(collection.get_manifest, per_request=100):
        for m in envelope.get("objects", []):
            dates[m["date_added"]] += 1
    check(sum(dates.values()) == 1050, "the manifest lists 1,050")
    shared, n = dates.most_common(1)[0]
    check(n == 500, "500 share one date_added, got %d" % n)

    # added_after is exclusive: after the shared date, none of the 500.
    after = []
    for envelope in as_pages(collection.get_objects, per_request=100, added_after=shared):
        after.extend(o["id"] for o in envelope.get("objects", []))
    later = sum(c for d, c in dates.items() if d > shared)
    check(len(after) == later, "added_after=%s gives %d, want %d" % (shared, len(after), later))

    # Raw requests: the headers, limit=0 and an oversized limit.
    objects_url = collection.url + "objects/"
    h = {"Accept": MEDIA}
    r = requests.get(objects_url, params={"limit": "0"}, headers=h, auth=auth)
    check(r.status_code == 400, "limit=0 is refused: %d" % r.status_code)
    check(r.headers["Content-Type"] == MEDIA, "an error's Content-Type")
    check("title" in r.json() and r.json()["http_status"] == "400", "a TAXII error message")
    r = requests.get(objects_url, params={"limit": "5000"}, headers=h, auth=auth)
    check(r.status_code == 200, "limit=5000 answers")
    body = r.json()
    check(len(body["objects"]) == 1000, "an oversized limit is capped at 1000")
    check(body["more"] is True and "next" in body, "more after the cap")
    check(r.headers["Content-Type"] == MEDIA, "Content-Type")
    check("X-TAXII-Date-Added-First" in r.headers, "X-TAXII-Date-Added-First")
    check("X-TAXII-Date-Added-Last" in r.headers, "X-TAXII-Date-Added-Last")
    r = requests.get(objects_url, headers={"Accept": "text/html"}, auth=auth)
    check(r.status_code == 406, "Accept: text/html is 406: %d" % r.status_code)
    check(r.headers["Content-Type"] == MEDIA, "the 406's Content-Type")
    r = requests.get(objects_url, headers=h)
    check(r.status_code == 401, "no token is 401: %d" % r.status_code)
    check(r.headers["Content-Type"] == MEDIA, "the 401's Content-Type")

    # One object, its versions.
    first = seen[0]
    got = collection.get_object(first)
    check([o["id"] for o in got["objects"]] == [first], "object by id")
    versions = collection.object_versions(first)
    check(len(versions["versions"]) == 1, "one version")
    r = requests.get(objects_url + "indicator--11111111-1111-4111-8111-111111111111/", headers=h, auth=auth)
    check(r.status_code == 404, "an unknown object is 404")
    check(r.headers["Content-Type"] == MEDIA, "the 404's Content-Type")

    # add_objects: the status reaches complete, and is retrievable later.
    new = {
        "objects": [
            {
                "type": "indicator",
                "spec_version": "2.1",
                "id": "indicator--6f8d3a1e-3b2c-4f5e-9a7b-1c2d3e4f5a6b",
                "created": "2026-12-04T09:00:00.000Z",
                "modified": "2026-12-04T09:00:00.000Z",
                "pattern": "[ipv4-addr:value = '198.51.100.7']",
                "pattern_type": "stix",
                "valid_from": "2026-12-04T09:00:00Z",
            },
            {"type": "indicator", "id": "not-an-id"},
        ]
    }
    status = collection.add_objects(new)
    check(status.status == "complete", "the status is complete")
    check(status.success_count == 1 and status.failure_count == 1,
          "one success and one failure: %s/%s" % (status.success_count, status.failure_count))
    check(status.total_count == 2, "total 2")
    again = root.get_status(status.id)
    check(again.status == "complete" and again.id == status.id, "the status later")
    print("ok")


main()
