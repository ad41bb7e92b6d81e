E# only a comment

