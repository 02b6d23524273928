# Public names of phylo_llm.viewer, loaded lazily (lazy_loader.attach_stub reads this file).
from ._data import COLOUR_BY as COLOUR_BY
from ._data import attribute_colours as attribute_colours
from ._data import check_leaves as check_leaves
from ._data import documented_links as documented_links
from ._data import explorer_data as explorer_data
from ._data import nearest_models as nearest_models
from ._data import tree_arrays as tree_arrays
from ._html import data_json as data_json
from ._html import explorer_html as explorer_html
from ._map import map_coordinates as map_coordinates
from ._view import LAYOUTS as LAYOUTS
from ._view import MAX_MODELS as MAX_MODELS
from ._view import Explorer as Explorer
from ._view import check_size as check_size
from ._view import view as view
