"""In-process runs share one loaded network per weights/device/precision (see
`pipeline_media.shared_network`); runs in a subprocess load their own, as the product does."""
import pytest


@pytest.fixture(autouse=True)
def _shared_network(monkeypatch):
    from plugin import job
    from tests.plugin import pipeline_media
    real = job.load_network

    def load(shot, key=None):
        key = key or job.network_key(shot)
        if key not in pipeline_media._NETWORKS:
            pipeline_media._NETWORKS.clear()
            pipeline_media._NETWORKS[key] = real(shot, key)
        return pipeline_media._NETWORKS[key]
    monkeypatch.setattr(job, "load_network", load)
