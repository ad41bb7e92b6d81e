Creator "dcn fuzz seed"
graph
[
  directed 1
  node [ id 0 label "a" graphics [ x 1.5 y -2 z 3 ] ]
  node [ id 7 label "b" ]
  node [ id -3 ]
  edge [ source 0 target 7 weight 2.5 ]
  edge [ source 7 target 0 ]
  edge [ source 7 target -3 ]
  edge [ source -3 target -3 ]
  comment [ nested [ deep [ 1 2 "s" ] ] ]
]
