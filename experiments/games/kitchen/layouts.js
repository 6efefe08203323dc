// The kitchens, as data: one string per row, one character per tile.
//
//   ' ' floor        '1'–'4' floor where that seat starts
//   '#' counter      (holds one item: put things down, pick them up)
//   'O' onion crate  'T' tomato crate   (take a raw ingredient)
//   'C' chopping board (put a raw ingredient, chop it with a few presses, take it)
//   'P' pot          (three chopped ingredients cook into a soup; serve it on a plate)
//   'D' plate rack   (take a clean plate)
//   'S' serving window (deliver a plated soup that an order asks for)
//
// `recipes` are the soups orders ask for (three of one ingredient). A layout is
// chosen per round in the experiment's YAML (`config.layouts`).

export const LAYOUTS = {
  // Two cooks share one small room: everything is close, and they are in each
  // other's way.
  cramped: {
    title: "Cramped room",
    recipes: ["onion", "tomato"],
    rows: [
      "##P#P##",
      "O1   2C",
      "#     #",
      "T     C",
      "##D#S##",
    ],
  },
  // The kitchen is split by a wall of counters: the left cook has the crates and
  // boards, the right one the pots, plates and window. Nothing is served unless they
  // pass ingredients across.
  asymmetric: {
    title: "Asymmetric advantages",
    recipes: ["onion", "tomato"],
    rows: [
      "#########",
      "O 1 # 2 P",
      "C   #   #",
      "T   #   P",
      "#C###D#S#",
    ],
  },
  // A ring corridor around an island: the long way round or past each other.
  ring: {
    title: "Ring",
    recipes: ["onion"],
    rows: [
      "##O###P##",
      "#1     2#",
      "C #C#D# #",
      "# #P#S# C",
      "#3     4#",
      "####O####",
    ],
  },
};
