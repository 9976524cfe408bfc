# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: 2026 The gipc-glib authors

"""readme-section.py README OUTPUT HEADING TITLE SLUG: writes one "## "
section of the README (HEADING, without its "## ") as a gi-docgen content
page, so that the docs and the README say the same thing."""

import sys

readme, output, heading, title, slug = sys.argv[1:6]
lines = open(readme, encoding='utf-8').read().split('\n')
try:
    start = lines.index('## ' + heading) + 1
except ValueError:
    sys.exit('readme-section.py: no section "## %s" in %s' % (heading, readme))
end = start
while end < len(lines) and not lines[end].startswith('## '):
    end += 1
body = '\n'.join(lines[start:end]).strip('\n')
with open(output, 'w', encoding='utf-8') as f:
    f.write('Title: %s\nSlug: %s\n\n# %s\n\n' % (title, slug, title))
    f.write('This page is the section "%s" of gipc-glib\'s README.\n\n'
            % heading)
    f.write(body + '\n')
