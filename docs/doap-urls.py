# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: 2026 The gipc-glib authors

"""doap-urls.py DOAP: prints the project's homepage, the repository's
browse address and the repository's clone address from the DOAP file, one
a line (an empty line for one the file does not give), for the docs'
Website and Source links."""

import sys
import xml.etree.ElementTree as ET

DOAP = '{http://usefulinc.com/ns/doap#}'
RDF = '{http://www.w3.org/1999/02/22-rdf-syntax-ns#}'

root = ET.parse(sys.argv[1]).getroot()


def resource(path):
    element = root.find(path)
    if element is None:
        return ''
    return element.get(RDF + 'resource', '').strip()


print(resource(DOAP + 'homepage'))
print(resource(DOAP + 'repository/' + DOAP + 'GitRepository/' + DOAP + 'browse'))
print(resource(DOAP + 'repository/' + DOAP + 'GitRepository/' + DOAP + 'location'))
