"""The tests CHIRP_TEST_STORE=cluster (make http-cluster) skips, and why:
each one is about something a single process owns (its HTTP parser, its
own counters, log, timeouts and memory, its data dir's files) that three
nodes behind HAProxy do not have as one. Sorted from a run of the whole
suite on a cluster; anything not listed runs through HAProxy."""

PROXY = ("HAProxy parses the request first and answers malformed or "
         "oversized HTTP with its own 400 (HTML), so chirp's parser is not what "
         "the client sees")
ONE_PROCESS = ("about one process's own counters, access log, timeouts or "
               "connection bound; behind HAProxy each request may land on another node")
BLOB_DIR = ("about the directory blob store of one data dir (DATA/blobs, "
            "relative URLs); a cluster's nodes share an S3 bucket, which "
            "test_media_s3.py and tests/cluster test")
DATA_DIR = ("about one data dir's secrets and files; a cluster's nodes take "
            "theirs from shared files (--blob-secret-file, --idempotency-key-file)")
MEMORY = "about one process's in-memory timelines; a cluster's are in Redis"
BUFFERED = ("a client that stops reading stalls HAProxy's buffers and the kernel's "
            "on both of its sides before chirp's own bound; what the test sends "
            "does not fill them all")
OWN_NODES = "starts nodes of its own on the run's Redis (CHIRP_TEST_REDIS)"

SKIPS = {
    "test_bad_input.py": PROXY,
    "test_framing.py": PROXY,
    "test_security.py::test_prior_knowledge_http2_is_not_spoken": PROXY,
    "test_gateway.py::test_every_kind_of_response_has_a_request_id": PROXY,
    "test_gateway.py::test_forwarded_for_is_ignored_without_trust_proxy":
        "a cluster's nodes trust HAProxy (--trust-proxy 127.0.0.1)",
    "test_gateway.py::test_access_log_": ONE_PROCESS,
    "test_gateway.py::test_requests_total_counts_each_request_once": ONE_PROCESS,
    "test_gateway.py::test_duration_histogram_per_route": ONE_PROCESS,
    "test_gateway.py::test_commit_batch_histogram_and_queues": ONE_PROCESS,
    "test_gateway.py::test_feed_and_tweet_cache_counters_move": ONE_PROCESS,
    "test_gateway.py::test_process_metrics_match_proc": ONE_PROCESS,
    "test_gateway.py::test_full_write_queue_makes_readyz_503_and_then_clears": ONE_PROCESS,
    "test_gateway.py::test_read_timeout_closes_slow_clients": ONE_PROCESS,
    "test_gateway.py::test_connections_past_the_bound_get_a_fast_503": ONE_PROCESS,
    "test_emails.py::test_addresses_stay_out_of_the_log": ONE_PROCESS,
    "test_stream.py::test_caps_per_user_429_and_per_process_503": ONE_PROCESS,
    "test_stream.py::test_shutdown_ends_open_streams": ONE_PROCESS,
    "test_stream.py::test_a_reader_that_stops_reading_is_cut_off": BUFFERED,
    "test_mastodon_streaming.py::test_a_reader_that_does_not_read_is_cut_off": BUFFERED,
    "test_media.py": BLOB_DIR,
    "test_media_security.py": BLOB_DIR,
    "test_security.py::test_idempotency_fingerprint_is_keyed_by_a_secret_outside_the_db": DATA_DIR,
    "test_security.py::test_files_chirp_creates_are_private": DATA_DIR,
    "test_security.py::test_metrics_want_the_token_of_the_token_file": DATA_DIR,
    "test_feed_scale.py::test_idle_timeline_is_dropped_and_rebuilt": MEMORY,
    "test_feed_scale.py::test_restart_loses_no_tweets_and_rebuilds_timelines": MEMORY,
    "test_feed_scale.py::test_a_rebuild_moves_off_the_loop_and_a_warm_read_stays": MEMORY,
    "test_redis_nodes.py": OWN_NODES,
}


def reason_to_skip(nodeid):
    """The reason to skip the test `nodeid` on a cluster, or None."""
    name = nodeid.split("tests/http/", 1)[-1]
    for prefix, why in SKIPS.items():
        if name.startswith(prefix):
            return why
    return None
