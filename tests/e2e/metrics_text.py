"""/metrics pages read by prometheus_client's text parser, for the e2e tests
that check the node's families (test_metrics, test_tls_metrics)."""

from prometheus_client.parser import text_string_to_metric_families


def parse_metrics(body):
    """({(sample name, frozenset(labels)): value}, families by name) of a page
    (bytes or str); raises ValueError where the page is not valid exposition
    text."""
    text = body.decode() if isinstance(body, bytes) else body
    families = {f.name: f for f in text_string_to_metric_families(text)}
    samples = {}
    for family in families.values():
        for s in family.samples:
            samples[(s.name, frozenset(s.labels.items()))] = s.value
    return samples, families
