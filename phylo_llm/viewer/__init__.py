"""The explorer: a tree and a DNA map of the same models, linked, in one self-contained HTML page.

==========================  ==================================================================
the page                    :func:`view` -> :class:`Explorer` (``.save(path)``, inline in Jupyter)
what it shows               :func:`explorer_data` (tree arrays, map, colours, model cards: JSON-ready),
                            :func:`nearest_models`, :func:`documented_links`, :func:`attribute_colours`
the file                    :func:`explorer_html` (script, style and data inline; nothing fetched)
the map                     :func:`map_coordinates` (seeded t-SNE, as figure 2)
==========================  ==================================================================

The page's script is built from ``js/`` (d3 modules bundled by esbuild; ``js/build.mjs``) into
``static/``, which the package ships with the bundled packages' licences.
Names are loaded on first use (SPEC 1 lazy loading).
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
