from imagetwins.cli import main

main()
