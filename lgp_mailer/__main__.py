from lgp_mailer.cli import main

main()
