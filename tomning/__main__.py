from tomning.cli import main

main()
