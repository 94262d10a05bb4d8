from lgp_mailer.entry import main

main()
