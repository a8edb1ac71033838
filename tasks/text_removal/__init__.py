"""Scene-text removal (DeepEraser): erase rendered words from images, with or without a given mask."""
