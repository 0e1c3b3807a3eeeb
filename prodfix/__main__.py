from prodfix.cli import main

main(prog_name="prodfix")
