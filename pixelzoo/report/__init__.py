"""Reading finished runs and presenting them side by side: tables, charts and infill grids.

`runs` reads run folders and checks that runs were evaluated on the same data; `table` turns them
into one comparison table (rich, CSV, Markdown) with the best value of each metric marked;
`charts` draws the metric bars and learning curves; `grid` lays out infill pictures. Nothing here
trains; `pixelzoo.compare` is the command that drives them.
"""
