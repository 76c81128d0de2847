"""The ALTO v4.4 schema shipped in schemas/, loaded for validation without the network."""

from pathlib import Path

from lxml import etree

SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"
XLINK = "http://www.loc.gov/standards/xlink/xlink.xsd"


class _Offline(etree.Resolver):
    """The ALTO schema imports LoC's XLink schema by URL: answered from schemas/xlink.xsd, never the network."""

    def resolve(self, url, pubid, context):
        if url == XLINK:
            return self.resolve_filename(str(SCHEMAS / "xlink.xsd"), context)
        if url.startswith(("http:", "https:")):
            raise AssertionError(f"the schema asked for {url}")
        return None  # a local file: lxml reads it


def load_alto_schema() -> etree.XMLSchema:
    parser = etree.XMLParser(no_network=True)
    parser.resolvers.add(_Offline())
    return etree.XMLSchema(etree.parse(str(SCHEMAS / "alto-4-4.xsd"), parser))
