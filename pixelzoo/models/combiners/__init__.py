"""Row-context combiners: how the previous row's GRU outputs enter the current row."""
