"""Reports: the renderer (Quarto or kernel → pandoc → typst) and the helpers the documents use."""
